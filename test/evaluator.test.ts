/**
 * The retrieval evaluator with deterministic lexical encoders (each word → a one-hot hashed bucket):
 * on a tiny BEIR folder written here (hand-checked outcomes, JSON report, mean over datasets) and on a
 * SciFact subset, where its numbers must equal a brute-force ranking computed from the words alone
 * (no vectors, no index) and the lexical encoder must beat one whose buckets are unrelated to the words.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { loadBeir } from '../lib/index';
import type { Doc, Qrels, Query, Run } from '../lib/index';
import type { Encoder } from '../lib/index';
import type { Encoded, HeadKind } from '../lib/index';
import type { Role } from '../lib/index';
import { evaluate } from '../lib/index';
import { evaluateRetrieval, formatRetrievalReport, DEFAULT_RETRIEVAL_MEASURES } from '../lib/index';
import { documentText } from '../lib/index';
import { sharedPath, skipWithoutShared } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
const STOP = new Set('a an and are as at be by for from in is it of on or that the to was were with'.split(' '));
const words = (t: string) => (t.toLowerCase().match(/[a-z0-9]+/g) ?? []).filter((w) => !STOP.has(w));

/**
 * Lexical token encoder over a fixed vocabulary (the test queries' words): a word is a one-hot vector at
 * its vocabulary position; words outside it yield no token. Query tokens are scaled by a word weight in
 * {1, 1.125, .., 1.875}, so scores are exact in float32 (and float16) and rarely tie. `scrambled` sends
 * query words to a shifted position: query and document tokens become unrelated (a chance baseline).
 */
class LexicalEncoder implements Encoder {
  readonly dim: number;
  private readonly vocab: Map<string, number>;
  constructor(readonly kind: HeadKind, vocabTexts: string[], private scrambled = false) {
    this.vocab = new Map(Array.from(new Set(vocabTexts.flatMap(words))).map((w, i) => [w, i]));
    this.dim = Math.max(8, this.vocab.size);
  }
  bucket(w: string, role: Role): number {
    const i = this.vocab.get(w);
    if (i === undefined) return -1;
    return this.scrambled && role === 'query' ? (i + 1 + (this.vocab.size >> 1)) % this.dim : i;
  }
  weight(w: string, role: Role): number {
    return role === 'query' ? 1 + (fnv1a(w) % 8) / 8 : 1;
  }
  async encode(texts: string[], role: Role): Promise<Encoded> {
    const toks = texts.map((t) => words(t).filter((w) => this.bucket(w, role) >= 0));
    const dim = this.dim;
    if (this.kind === 'dense') {
      const v = new Float32Array(texts.length * dim);
      toks.forEach((ws, i) => ws.forEach((w) => (v[i * dim + this.bucket(w, role)] += this.weight(w, role))));
      return { kind: 'dense', embeddings: tf.tensor2d(v, [texts.length, dim]) };
    }
    const L = Math.max(1, ...toks.map((ws) => ws.length));
    const v = new Float32Array(texts.length * L * dim);
    const m = new Float32Array(texts.length * L);
    toks.forEach((ws, i) =>
      ws.forEach((w, t) => {
        v[(i * L + t) * dim + this.bucket(w, role)] = this.weight(w, role);
        m[i * L + t] = 1;
      }),
    );
    return { kind: 'colbert', embeddings: tf.tensor3d(v, [texts.length, L, dim]), mask: tf.tensor2d(m, [texts.length, L]) };
  }
}

/** What each encoder's score must be, from the words alone. */
function wordScore(enc: LexicalEncoder, query: string, doc: string): number {
  const dw = words(doc).map((w) => enc.bucket(w, 'document'));
  let s = 0;
  for (const w of words(query)) {
    const b = enc.bucket(w, 'query');
    if (b < 0) continue;
    const count = dw.filter((x) => x === b).length;
    // ColBERT: max over document tokens (1 if the word occurs); dense: dot with the word counts.
    s += enc.weight(w, 'query') * (enc.kind === 'dense' ? count : Math.min(count, 1));
  }
  return s;
}

/** Brute-force run: every document scored from words, top-k by (score desc, corpus position asc). */
function bruteRun(enc: LexicalEncoder, corpus: Doc[], queries: Query[], k: number): Run {
  const run: Run = new Map();
  for (const q of queries) {
    const scores = corpus.map((d) => wordScore(enc, q.text, documentText(d)));
    const order = scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b).slice(0, k);
    run.set(q.id, new Map(order.map((i) => [corpus[i].id, scores[i]])));
  }
  return run;
}

function writeTinyBeir(dir: string): void {
  fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
  const corpus = [
    { _id: 'd1', title: 'Apples', text: 'apple banana' },
    { _id: 'd2', title: '', text: 'cherry grape' },
    { _id: 'd3', title: 'Drinks', text: 'banana smoothie recipe' },
    { _id: 'd4', text: 'grape juice' },
    { _id: 'd5', title: '', text: 'nothing here' },
  ];
  const queries = [
    { _id: 'q1', text: 'apple' },
    { _id: 'q2', text: 'grape juice' },
    { _id: 'q3', text: 'smoothie' },
    { _id: 'q9', text: 'not judged' },
  ];
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), corpus.map((c) => JSON.stringify(c)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), queries.map((c) => JSON.stringify(c)).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td4\t1\nq2\td2\t1\nq3\td3\t2\nq3\td1\t1\n');
}

test('tiny BEIR folder: hand-checked ranking, brute-force agreement, JSON report and the mean', async () => {
  await initBackend('wasm');
  const tmp = tmpDir('eval');
  try {
    const dir = path.join(tmp, 'tiny');
    writeTinyBeir(dir);
    for (const kind of ['colbert', 'dense'] as const) {
      const enc = new LexicalEncoder(kind, loadBeir(dir, 'test').queries.map((q) => q.text));
      const out = path.join(tmp, 'results', `${kind}.json`);
      const rep = await evaluateRetrieval(enc, [{ dir }, { dir, name: 'tiny-again' }], { out, keepRuns: true, chunkSize: 2, batchSize: 2 });
      assert.deepEqual(rep.measures, ['map', 'recip_rank', 'P_1', 'recall_10', 'recall_100', 'ndcg_cut_10', 'mrr@10']);
      const [a, b] = rep.datasets;
      assert.equal(a.name, 'tiny');
      assert.equal(a.documents, 5);
      assert.equal(a.queries, 3, 'only judged queries are searched');
      // Every query's best document is relevant; q2 also finds its second relevant document at rank 2.
      assert.equal(a.metrics.recip_rank, 1);
      assert.equal(a.metrics.P_1, 1);
      assert.equal(a.perQuery.q2.ndcg_cut_10, 1);
      assert.deepEqual(Array.from(a.run!.get('q2')!.keys()).slice(0, 2), ['d4', 'd2']);
      // Brute force from the words gives the same run and so the same numbers.
      const ds = loadBeir(dir, 'test');
      const brute = bruteRun(enc, ds.corpus, ds.queries, 100);
      assert.deepEqual(a.run, brute);
      const want = evaluate(ds.qrels, brute, { measures: DEFAULT_RETRIEVAL_MEASURES, complete: true }).all;
      for (const m of rep.measures) assert.equal(a.metrics[m], want[m], `${kind} ${m}`);
      for (const m of rep.measures) assert.equal(rep.mean[m], (a.metrics[m] + b.metrics[m]) / 2);
      const json = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(json.datasets.length, 2);
      assert.equal(json.datasets[0].run, undefined, 'runs are not written');
      assert.equal(json.mean.ndcg_cut_10, rep.mean.ndcg_cut_10);
      assert.equal(json.encoder.kind, kind);
      assert.match(formatRetrievalReport(rep), /^dataset\s+map.*\ntiny\s.*\ntiny-again\s.*\nmean\s/);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** SciFact subset: the first 40 judged test queries; their judged documents plus the first 300 others. */
function scifactSubset(): { corpus: Doc[]; queries: Query[]; qrels: Qrels } {
  const ds = loadBeir(sharedPath('beir', 'scifact')!, 'test');
  const queries = ds.queries.slice(0, 40);
  const qrels: Qrels = new Map(queries.map((q) => [q.id, ds.qrels.get(q.id)!]));
  const judged = new Set<string>();
  for (const docs of qrels.values()) for (const d of docs.keys()) judged.add(d);
  let others = 0;
  const corpus = ds.corpus.filter((d) => judged.has(d.id) || others++ < 300);
  return { corpus, queries, qrels };
}

test('SciFact subset: evaluator equals brute force from words; lexical beats unrelated buckets', { skip: skipWithoutShared('beir', 'scifact', 'corpus.jsonl') }, async () => {
  await initBackend('wasm');
  const sub = scifactSubset();
  const vocab = sub.queries.map((q) => q.text);
  const results: Record<string, number> = {};
  for (const [name, enc] of [
    ['colbert', new LexicalEncoder('colbert', vocab)],
    ['dense', new LexicalEncoder('dense', vocab)],
    ['scrambled', new LexicalEncoder('colbert', vocab, true)],
  ] as const) {
    const rep = await evaluateRetrieval(enc, [{ name: 'scifact-subset', ...sub }], { keepRuns: true, chunkSize: 64, dtype: name === 'dense' ? 'float16' : 'float32' });
    const got = rep.datasets[0];
    assert.ok(got.documents > 300 && got.queries === 40);
    // Scores are multiples of 1/8 (dense: exact in float16 too), so runs match exactly.
    const brute = bruteRun(enc, sub.corpus, sub.queries, 100);
    assert.deepEqual(got.run, brute, `${name}: run differs from brute force`);
    const want = evaluate(sub.qrels, brute, { measures: DEFAULT_RETRIEVAL_MEASURES, complete: true }).all;
    for (const m of rep.measures) assert.equal(got.metrics[m], want[m], `${name} ${m}`);
    results[name] = got.metrics.ndcg_cut_10;
  }
  // A word-matching encoder finds SciFact's evidence far better than chance (~0.02 on ~340 documents).
  assert.ok(results.colbert > 0.6, `lexical ColBERT nDCG@10 ${results.colbert}`);
  assert.ok(results.dense > 0.5, `lexical dense nDCG@10 ${results.dense}`);
  assert.ok(results.scrambled < 0.1, `scrambled nDCG@10 ${results.scrambled}`);
});

test('no datasets, or an encoder whose output does not fit, give one clear error', async () => {
  await initBackend('wasm');
  const enc = new LexicalEncoder('colbert', ['apple']);
  await assert.rejects(evaluateRetrieval(enc, []), /no datasets given/);
  const wrong: Encoder = { kind: 'dense', dim: 4, encode: async (texts) => ({ kind: 'dense', embeddings: tf.zeros([texts.length, 5]) }) };
  const ds = { name: 'x', corpus: [{ id: 'd', title: '', text: 'apple' }], queries: [{ id: 'q', text: 'apple' }], qrels: new Map([['q', new Map([['d', 1]])]]) };
  await assert.rejects(evaluateRetrieval(wrong, [ds]), /encoder returned embeddings \[1,5\] for 1 texts, dim 4/);
});
