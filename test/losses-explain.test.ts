/** The losses step by step (lib/losses/explain.ts) equal the tensor losses, and hand-computed values. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { distillationByHand, infoNCEByHand, minMaxNormalize } from '../lib/losses/explain';
import { distillationFromScores, distillationLoss } from '../lib/losses/distillation';
import { infoNCEFromScores } from '../lib/losses/contrastive';
import { mulberry32 } from '../lib/util/rng';

before(async () => {
  await initBackend();
});

function randomMatrix(rows: number, cols: number, seed: number, scale: number): number[][] {
  const r = mulberry32(seed);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (r() * 2 - 1) * scale));
}

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
}

test('infoNCEByHand: a hand-computed value (2 queries, identity scores, τ = 1: log(1 + e^-1))', () => {
  const w = infoNCEByHand([[1, 0], [0, 1]], { temperature: 1 });
  close(w.loss, Math.log(1 + Math.exp(-1)), 1e-12, 'loss');
  close(w.positiveProbability[0], 1 / (1 + Math.exp(-1)), 1e-12, 'p(positive)');
  assert.deepEqual(w.labels, [0, 1]);
  for (const row of w.probabilities) close(row.reduce((a, b) => a + b, 0), 1, 1e-12, 'softmax row sum');
});

test('infoNCEByHand equals infoNCEFromScores (in-batch and hard negatives, τ 0.2 and 0.02)', () => {
  for (const [n, tau, seed] of [[1, 0.2, 1], [1, 0.02, 2], [3, 0.2, 3], [3, 0.02, 4]] as const) {
    const S = randomMatrix(5, 5 * n, seed, 4);
    const want = tf.tidy(() => infoNCEFromScores(tf.tensor2d(S), { docsPerQuery: n, temperature: tau }).dataSync()[0]);
    close(infoNCEByHand(S, { temperature: tau, docsPerQuery: n }).loss, want, 1e-5, `docsPerQuery ${n}, τ ${tau}`);
  }
  assert.throws(() => infoNCEByHand([[1], [2]], { temperature: 0.1 }), /outside 1 documents/);
});

test('minMaxNormalize maps a row onto [0, 1] as PyLate does ((x − min) / (max − min + 1e-8))', () => {
  const r = minMaxNormalize([2, 4, 3]);
  close(r[0], 0, 1e-12, 'min');
  close(r[1], 2 / (2 + 1e-8), 1e-12, 'max');
  close(r[2], 1 / (2 + 1e-8), 1e-12, 'middle');
});

test('distillationByHand: a hand-computed KL (uniform student, teacher 1/4 vs 3/4)', () => {
  const w = distillationByHand([[0, 0]], [[0, Math.log(3)]], { normalizeStudent: false });
  close(w.teacherProbabilities[0][1], 0.75, 1e-12, 'teacher softmax');
  close(w.loss, 0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 1e-12, 'KL');
  // Identical distributions: zero.
  close(distillationByHand([[1, 2, 3]], [[1, 2, 3]], { normalizeStudent: false }).loss, 0, 1e-12, 'KL(p‖p)');
});

test('distillationByHand equals distillationFromScores for every combination of the two min–max options', () => {
  const student = randomMatrix(4, 6, 7, 10);
  const teacher = randomMatrix(4, 6, 8, 3);
  for (const normalizeStudent of [true, false]) {
    for (const normalizeTeacher of [true, false]) {
      const want = tf.tidy(() => distillationFromScores(tf.tensor2d(student), tf.tensor2d(teacher), { normalizeStudent, normalizeTeacher }).dataSync()[0]);
      close(distillationByHand(student, teacher, { normalizeStudent, normalizeTeacher }).loss, want, 1e-5, `student ${normalizeStudent}, teacher ${normalizeTeacher}`);
    }
  }
});

test('normalizeTeacher is the loss on min–max-normalised teacher scores; off by default', () => {
  const student = randomMatrix(3, 5, 9, 10);
  const teacher = randomMatrix(3, 5, 10, 3);
  const loss = (t: number[][], o: { normalizeTeacher?: boolean }) => tf.tidy(() => distillationFromScores(tf.tensor2d(student), tf.tensor2d(t), o).dataSync()[0]);
  close(loss(teacher, { normalizeTeacher: true }), loss(teacher.map(minMaxNormalize), {}), 1e-6, 'normalised inside vs before');
  assert.ok(Math.abs(loss(teacher, {}) - loss(teacher, { normalizeTeacher: true })) > 1e-3, 'the option changes the loss');
});

test('distillationLoss takes the teacher scores as a tensor or as plain rows, with the same value', () => {
  const q = { kind: 'dense' as const, embeddings: tf.tensor2d([[1, 0], [0.6, 0.8]]) };
  const d = { kind: 'dense' as const, embeddings: tf.tensor2d([[1, 0], [0, 1], [0.8, 0.6], [0.6, 0.8], [1, 0], [0, 1]]) };
  const teacher = [[3, 1, 2], [0, 2, 5]];
  const a = tf.tidy(() => distillationLoss(q, d, teacher).dataSync()[0]);
  const b = tf.tidy(() => distillationLoss(q, d, tf.tensor2d(teacher)).dataSync()[0]);
  assert.equal(a, b);
  // Cosines by hand: query 0 → [1, 0, 0.8], query 1 → [1, 0.6, 0.8]; then the KL walkthrough.
  close(a, distillationByHand([[1, 0, 0.8], [1, 0.6, 0.8]], teacher).loss, 1e-5, 'against the walkthrough');
  tf.dispose([q.embeddings, d.embeddings]);
});
