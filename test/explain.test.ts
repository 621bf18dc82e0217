/**
 * MaxSim written out (explainMaxSim) against colbertScores and a plain loop, a hand-computed case and the
 * tie rule; a pair explained through a real model (the fixture ColBERT) equals colbertScores on the same
 * encodings and names its tokens; scorePairs against the models' own encodings; judgedPairs and
 * contrastPairs on a hand-built set; maxSimByRole on a hand-built explanation whose shares are known.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  initBackend, loadEncoder, ColbertModel, DenseModel, colbertScores, explainMaxSim, explainPair, scorePairs,
  judgedPairs, unjudgedPairs, contrastPairs, maxSimByRole, marginByRole, sharedDataPath, type PairExplanation, type TokenView,
} from '../lib/index';
import { seededFloats } from './helpers/tensors';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models');

const rows = (a: Float32Array, n: number, dim: number) => Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * dim, (i + 1) * dim)));

test('explainMaxSim by hand: each query token takes its best scored document token, the sum is the score', () => {
  // q0·d = [1, 0.6, 0.9]: d0 wins (1); q1·d = [0, 0.8, 0.1]: d1 wins (0.8); d2 is masked for choice.
  const q = [[1, 0], [0, 1]];
  const d = [[1, 0], [0.6, 0.8], [0.9, 0.1]];
  const e = explainMaxSim(q, d);
  assert.deepEqual(e.picks.map((p) => [p.documentToken, Math.round(p.max * 1e6) / 1e6]), [[0, 1], [1, 0.8]]);
  assert.ok(Math.abs(e.score - 1.8) < 1e-12);
  assert.deepEqual(e.similarities.map((r) => r.map((v) => Math.round(v * 1e6) / 1e6)), [[1, 0.6, 0.9], [0, 0.8, 0.1]]);
  // Masks: d0 not choosable → q0 takes d2 (0.9); q1 not scored → adds 0 (its pick is still shown).
  const m = explainMaxSim(q, d, [1, 0], [0, 1, 1]);
  assert.deepEqual(m.picks.map((p) => [p.documentToken, p.scored, Math.round(p.contribution * 1e6) / 1e6]), [[2, true, 0.9], [1, false, 0]]);
  assert.ok(Math.abs(m.score - 0.9) < 1e-12);
  // Ties: the first of equal maxima wins (torch's max); no choosable token → null, 0.
  assert.equal(explainMaxSim([[1, 0]], [[0.5, 0], [0.5, 0]]).picks[0].documentToken, 0);
  const none = explainMaxSim([[1, 0]], [[0.5, 0]], undefined, [0]);
  assert.deepEqual([none.picks[0].documentToken, none.score], [null, 0]);
  assert.throws(() => explainMaxSim(q, d, [1]), /query mask has 1 entries for 2 tokens/);
});

test('explainMaxSim equals colbertScores and a brute-force loop on random masked pairs', async () => {
  await initBackend('wasm');
  const [lq, ld, dim] = [7, 11, 5];
  for (let seed = 1; seed <= 6; seed++) {
    const qa = seededFloats(lq * dim, seed);
    const da = seededFloats(ld * dim, seed + 100);
    const qm = Array.from(seededFloats(lq, seed + 200), (x) => (x > -0.3 ? 1 : 0));
    const dm = Array.from(seededFloats(ld, seed + 300), (x, j) => (x > 0 || j === 0 ? 1 : 0));
    const e = explainMaxSim(rows(qa, lq, dim), rows(da, ld, dim), qm, dm);
    const s = colbertScores(tf.tensor3d(qa, [1, lq, dim]), tf.tensor3d(da, [1, ld, dim]), tf.tensor2d(qm, [1, lq]), tf.tensor2d(dm, [1, ld]));
    const want = s.dataSync()[0];
    s.dispose();
    assert.ok(Math.abs(e.score - want) <= 1e-5 * Math.max(1, Math.abs(want)), `seed ${seed}: ${e.score} vs colbertScores ${want}`);
    // Brute force: every (i, j) product, the max over choosable j, summed over scored i.
    let total = 0;
    for (let i = 0; i < lq; i++) {
      let best = -Infinity;
      let arg = -1;
      for (let j = 0; j < ld; j++) {
        if (!dm[j]) continue;
        let p = 0;
        for (let k = 0; k < dim; k++) p += qa[i * dim + k] * da[j * dim + k];
        if (p > best) [best, arg] = [p, j];
      }
      assert.equal(e.picks[i].documentToken, arg);
      if (qm[i]) total += best;
    }
    assert.ok(Math.abs(e.score - total) < 1e-9);
  }
});

test('explainPair on the fixture ColBERT: tokens with their kinds, the score equal to colbertScores', async () => {
  await initBackend('wasm');
  const model = (await loadEncoder(path.join(FIXTURES, 'colbert'))) as ColbertModel;
  assert.ok(model instanceof ColbertModel);
  const query = 'what is late interaction?';
  const doc = 'ColBERT keeps one vector per token, and scores with MaxSim.';
  const e = await explainPair(model, query, doc);
  const q = await model.encode([query], 'query');
  const d = await model.encode([doc], 'document');
  const s = colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);
  const want = s.dataSync()[0];
  assert.ok(Math.abs(e.score - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${e.score} vs ${want}`);
  assert.equal(e.similarities.length, q.embeddings.shape[1]);
  assert.equal(e.similarities[0].length, d.embeddings.shape[1]);
  // The fixture's config: prompts "search_query: " / "search_document: ", query_length 12, document_length 24
  // (its tiny vocabulary splits the prompt into 8 pieces and truncates the texts).
  const qk = e.queryTokens.map((x) => x.kind);
  assert.deepEqual(qk, ['special', 'marker', ...Array(8).fill('prompt'), 'text', 'special']);
  assert.equal(e.queryTokens.filter((t) => t.kind === 'prompt').map((t) => t.token).join(''), 'search_query:');
  assert.equal(e.documentTokens.filter((t) => t.kind === 'prompt').map((t) => t.token).join(''), 'search_document:');
  // Document punctuation is on the skiplist (here the prompt's "_" and ":"): never chosen by any query token.
  const skipped = e.documentTokens.flatMap((t, j) => (t.skipped ? [j] : []));
  assert.deepEqual(skipped.map((j) => e.documentTokens[j].token), ['_', ':']);
  for (const p of e.picks) assert.ok(p.documentToken === null || !skipped.includes(p.documentToken));
  tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);
  // scorePairs: MaxSim for the ColBERT model, the dot product of pooled vectors for the dense one.
  const [sp] = await scorePairs(model, [{ query, document: doc }]);
  assert.ok(Math.abs(sp - want) <= 1e-4 * Math.max(1, Math.abs(want)));
  const dense = (await loadEncoder(path.join(FIXTURES, 'dense'))) as DenseModel;
  assert.ok(dense instanceof DenseModel);
  const dq = await dense.encode([query], 'query');
  const dd = await dense.encode([doc], 'document');
  const a = Array.from(dq.embeddings.dataSync() as Float32Array);
  const b = Array.from(dd.embeddings.dataSync() as Float32Array);
  const dot = a.reduce((acc, x, i) => acc + x * b[i], 0);
  const [ds] = await scorePairs(dense, [{ query, document: doc }]);
  assert.ok(Math.abs(ds - dot) < 1e-5, `${ds} vs ${dot}`);
  tf.dispose([dq.embeddings, dd.embeddings]);
  model.dispose();
  dense.dispose();
});

const set = {
  corpus: [
    { id: 'd1', title: '', text: 'red apples grow on trees' },
    { id: 'd2', title: 'Cars', text: 'engines and wheels' },
    { id: 'd3', title: '', text: 'the sky is blue' },
    { id: 'd4', title: '', text: 'green apples are sour' },
  ],
  queries: [{ id: 'q1', text: 'where do apples grow' }, { id: 'q2', text: 'car engines' }],
  qrels: new Map([
    ['q1', new Map([['d4', 1], ['d1', 2]])],
    ['q2', new Map([['d2', 1]])],
  ]),
  warnings: { unknownQueries: 0, unknownDocs: 0, repeated: 0 } as never,
};

test('judgedPairs takes each query\'s best-graded document; contrastPairs adds an unrelated one and a word-sharing distractor', () => {
  assert.deepEqual(judgedPairs(set).map((p) => [p.queryId, p.documentId, p.grade, p.document]), [['q1', 'd1', 2, 'red apples grow on trees'], ['q2', 'd2', 1, 'Cars engines and wheels']]);
  assert.equal(judgedPairs(set, 1).length, 1);
  const c = contrastPairs(set, 'q2');
  assert.deepEqual(c.map((p) => [p.kind, p.documentId]), [['relevant', 'd2'], ['non-relevant', 'd1'], ['shares words', null]]);
  // No unjudged document shares a word with "car engines" ("Cars" is another word): one is constructed.
  assert.equal(c[2].document, 'red apples grow on trees car engines');
  assert.deepEqual(c[2].shared, ['car', 'engines']);
  assert.match(c[2].note, /constructed/);
  // q1: d4 is relevant too, so the distractor must be unjudged: none shares a word → constructed; d2 is unrelated.
  const c1 = contrastPairs({ ...set, qrels: new Map([['q1', new Map([['d1', 2]])]]), queries: [set.queries[0]] }, 'q1');
  assert.deepEqual(c1.map((p) => [p.kind, p.documentId, p.shared]), [['relevant', 'd1', ['apples', 'grow']], ['non-relevant', 'd2', []], ['shares words', 'd4', ['apples']]]);
  assert.throws(() => contrastPairs(set, 'nope'), /no judged query "nope"/);
});

/** A token view of a given kind (strings and ids are only labels here). */
const tv = (token: string, kind: TokenView['kind'], scored = true): TokenView => ({ id: 0, token, kind, attended: kind !== 'expansion', scored, skipped: false });

test('maxSimByRole: shares per token kind and what prompt / [MASK] tokens pick, on a hand-built explanation', () => {
  // Query: [CLS] [Q] search : apple [SEP] [MASK] [MASK]; document: [CLS] [D] apple fruit red [SEP].
  const queryTokens = [tv('[CLS]', 'special'), tv('[Q]', 'marker'), tv('search', 'prompt'), tv(':', 'prompt'), tv('apple', 'text'), tv('[SEP]', 'special'), tv('[MASK]', 'expansion'), tv('[MASK]', 'expansion')];
  const documentTokens = [tv('[CLS]', 'special'), tv('[D]', 'marker'), tv('apple', 'text'), tv('fruit', 'text'), tv('red', 'text'), tv('[SEP]', 'special')];
  // Chosen document token and max of each query token.
  const chosen: Array<[number, number]> = [[0, 0.5], [1, 0.25], [3, 0.5], [3, 0.25], [2, 1], [5, 0.5], [2, 0.5], [4, 0.5]];
  const e: PairExplanation = {
    query: 'apple',
    document: 'apple fruit red',
    queryTokens,
    documentTokens,
    similarities: [],
    documentScored: documentTokens.map(() => true),
    picks: chosen.map(([j, m], i) => ({ queryToken: i, documentToken: j, max: m, scored: true, contribution: m })),
    score: 4,
  };
  const r = maxSimByRole([e, { ...e, query: 'again' }]);
  const share = Object.fromEntries(r.shares.map((s) => [s.group, s.meanShare]));
  // text 1/4, prompt 0.75/4, expansion 1/4, marker 0.25/4, special 1/4: they add up to 1.
  assert.deepEqual(share, { text: 0.25, prompt: 0.1875, expansion: 0.25, marker: 0.0625, special: 0.25 });
  assert.equal(r.shares.find((s) => s.group === 'expansion')!.tokens, 2);
  assert.equal(r.shares.find((s) => s.group === 'text')!.sdShare, 0);
  const m = Object.fromEntries(r.matches.map((x) => [x.group, x]));
  // [MASK]s picked "apple" (also the real query word's pick and spelled like it) and "red" (neither).
  assert.deepEqual([m.expansion.picks, m.expansion.sameAsTextPick, m.expansion.queryWordToken], [4, 0.5, 0.5]);
  assert.deepEqual(m.expansion.top, [{ token: 'apple', count: 2 }, { token: 'red', count: 2 }]);
  // Both prompt tokens picked "fruit": not the query word's match.
  assert.deepEqual([m.prompt.picks, m.prompt.sameAsTextPick, m.prompt.top], [4, 0, [{ token: 'fruit', count: 4 }]]);
  assert.deepEqual(r.perPair[0].sums, { text: 1, prompt: 0.75, expansion: 1, marker: 0.25, special: 1 });
});

test('unjudgedPairs: one document per query, never a relevant one, the same for the same seed', () => {
  const a = unjudgedPairs(set, Infinity, 3);
  assert.equal(a.length, 2);
  for (const p of a) assert.ok(!((set.qrels.get(p.queryId)!.get(p.documentId) ?? 0) > 0), `${p.queryId} got relevant ${p.documentId}`);
  assert.deepEqual(unjudgedPairs(set, Infinity, 3), a);
  assert.equal(unjudgedPairs(set, 1, 3).length, 1);
});

test('marginByRole: a constant floor adds nothing to the margin; the groups\' margins add up to the score margin', () => {
  const queryTokens = [tv('[CLS]', 'special'), tv('search', 'prompt'), tv('apple', 'text'), tv('[MASK]', 'expansion')];
  const documentTokens = [tv('[CLS]', 'special'), tv('search', 'prompt'), tv('apple', 'text'), tv('pear', 'text')];
  const ex = (maxes: number[], j: number[]): PairExplanation => ({
    query: 'apple', document: '', queryTokens, documentTokens, similarities: [], documentScored: [true, true, true, true],
    picks: maxes.map((m, i) => ({ queryToken: i, documentToken: j[i], max: m, scored: true, contribution: m })),
    score: maxes.reduce((x, y) => x + y, 0),
  });
  // Relevant: special 1, prompt 1, text 0.9, [MASK] 0.6; other: special 1, prompt 1, text 0.2, [MASK] 0.4.
  const r = marginByRole([ex([1, 1, 0.9, 0.6], [0, 1, 2, 2])], [ex([1, 1, 0.2, 0.4], [0, 1, 3, 3])]);
  const by = Object.fromEntries(r.rows.map((x) => [x.group, x]));
  assert.ok(Math.abs(r.meanMargin - 0.9) < 1e-12);
  assert.equal(by.special.margin, 0);
  assert.equal(by.prompt.margin, 0);
  assert.ok(Math.abs(by.text.shareOfMargin - 0.7 / 0.9) < 1e-12);
  assert.ok(Math.abs(by.expansion.shareOfMargin - 0.2 / 0.9) < 1e-12);
  assert.deepEqual([by.text.higherForRelevant, by.prompt.higherForRelevant], [1, 0]);
  assert.ok(Math.abs(r.rows.reduce((s, x) => s + x.shareOfMargin, 0) - 1) < 1e-12);
  assert.throws(() => marginByRole([ex([1, 1, 1, 1], [0, 1, 2, 2])], []), /1 relevant pairs but 0 others/);
});

test('sharedDataPath looks only in CZ_SHARED_DATA when it is set', () => {
  const dir = tmpDir('shared');
  const before = process.env.CZ_SHARED_DATA;
  try {
    fs.mkdirSync(path.join(dir, 'tokenizers', 'x'), { recursive: true });
    process.env.CZ_SHARED_DATA = dir;
    assert.equal(sharedDataPath('tokenizers', 'x'), path.join(dir, 'tokenizers', 'x'));
    assert.equal(sharedDataPath('tokenizers', 'absent'), null);
  } finally {
    if (before === undefined) delete process.env.CZ_SHARED_DATA;
    else process.env.CZ_SHARED_DATA = before;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
