/** What a model scores on training data (lib/eval/objectives.ts), against a brute-force loop over a fixed encoder. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type Encoder } from '../lib/index';
import { candidateScores, hardNegativeReport, scoreMatrix } from '../lib/eval/objectives';

before(async () => {
  await initBackend();
});

// A dense "model" that maps each text to a fixed 2-D vector: its scores are cosines we can compute by hand.
const VEC: Record<string, [number, number]> = {
  q1: [1, 0], q2: [0, 1], q3: [1, 1],
  p1: [0.9, 0.1], p2: [0.2, 1], p3: [1, 0.8],
  n1: [1, 0.2], n2: [-1, 0.5], n3: [0.6, 1], n4: [0.3, -1], n5: [1, 1.1], n6: [0, 1],
};
const fake: Encoder = {
  kind: 'dense',
  dim: 2,
  encode: async (texts: string[]) => ({ kind: 'dense', embeddings: tf.tensor2d(texts.map((t) => VEC[t])) }),
};
const cos = (a: string, b: string) => {
  const [x, y] = [VEC[a], VEC[b]];
  return (x[0] * y[0] + x[1] * y[1]) / (Math.hypot(...x) * Math.hypot(...y));
};
const examples = [
  { query: 'q1', positive: 'p1', negatives: ['n1', 'n2'] },
  { query: 'q2', positive: 'p2', negatives: ['n3', 'n4'] },
  { query: 'q3', positive: 'p3', negatives: ['n5', 'n6'] },
];

test('scoreMatrix and candidateScores are the cosines of every pair / each query and its candidates', async () => {
  const S = await scoreMatrix(fake, ['q1', 'q2'], ['p1', 'n2', 'n3']);
  for (const [i, q] of ['q1', 'q2'].entries()) for (const [j, d] of ['p1', 'n2', 'n3'].entries()) assert.ok(Math.abs(S[i][j] - cos(q, d)) < 1e-6);
  const C = await candidateScores(fake, [{ query: 'q1', documents: ['p1', 'n1', 'n2'] }, { query: 'q2', documents: ['p2', 'n3', 'n4', 'n5'] }], 3);
  assert.deepEqual(C.map((r) => r.length), [3, 3]);
  assert.ok(Math.abs(C[1][2] - cos('q2', 'n4')) < 1e-6);
});

test('hardNegativeReport: margins and both InfoNCE losses equal a brute-force loop (batches of 2: one full, one of 1)', async () => {
  const tau = 0.1;
  const r = await hardNegativeReport(fake, examples, { negatives: 2, temperature: tau, batchSize: 2 });
  const batches = [examples.slice(0, 2), examples.slice(2)];
  let lossIn = 0;
  let lossHard = 0;
  let k = 0;
  for (const b of batches) {
    for (const e of b) {
      const pos = cos(e.query, e.positive);
      const others = b.filter((o) => o !== e).map((o) => cos(e.query, o.positive));
      const hard = e.negatives.map((n) => cos(e.query, n));
      const row = r.rows[k++];
      assert.ok(Math.abs(row.positive - pos) < 1e-6);
      assert.ok(Math.abs(row.margin - (pos - Math.max(...hard))) < 1e-6);
      assert.ok(Math.abs(row.meanHardNegative - (hard[0] + hard[1]) / 2) < 1e-6);
      const z = (xs: number[]) => xs.reduce((a, x) => a + Math.exp(x / tau), 0);
      lossIn += -Math.log(Math.exp(pos / tau) / z([pos, ...others]));
      // With hard negatives, a query meets every document of its batch: its own and the others' hard negatives too.
      const all = b.flatMap((o) => [o.positive, ...o.negatives]).map((d) => cos(e.query, d));
      lossHard += -Math.log(Math.exp(pos / tau) / z(all));
    }
  }
  assert.ok(Math.abs(r.lossInBatch - lossIn / 3) < 1e-5, `${r.lossInBatch} vs ${lossIn / 3}`);
  assert.ok(Math.abs(r.lossWithHardNegatives - lossHard / 3) < 1e-5, `${r.lossWithHardNegatives} vs ${lossHard / 3}`);
  // Only q3's hard negative n5 (cos 0.9989) outranks its positive p3 (0.9939).
  assert.equal(r.hardOutranksPositive, 1 / 3);
  assert.ok(r.lossWithHardNegatives > r.lossInBatch);
});
