/** The optimiser's passes split over threads give the single-thread numbers bit for bit (lib/train/update-threads.ts). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AdamW, SQUARES_CHUNK, sharedFloats, sumOfSquares } from '../lib/train/optim';
import { UpdateThreads } from '../lib/train/update-threads';

/** Parameters and gradients of mixed magnitudes over a few chunks, on shared memory and as plain copies. */
function arrays(n: number, seed: number): { shared: Float32Array[]; plain: Float32Array[] } {
  const p = sharedFloats(n);
  const g = sharedFloats(n);
  for (let i = 0; i < n; i++) {
    p[i] = Math.sin(i * 0.37 + seed);
    g[i] = Math.cos(i * 1.3 + seed) * 10 ** ((i % 7) - 4);
  }
  return { shared: [p, g], plain: [p.slice(), g.slice()] };
}

test('sum of squares and AdamW on 3 threads equal one thread exactly, clipped or not', async () => {
  const n = 3 * SQUARES_CHUNK + 12_345;
  const { shared: [p, g], plain: [p1, g1] } = arrays(n, 1);
  const threads = new UpdateThreads(3, 0);
  const many = new AdamW(n, { weightDecay: 0.05, shared: true });
  const one = new AdamW(n, { weightDecay: 0.05 });
  try {
    for (const [step, scale] of [1, 0.25, 1].entries()) {
      const norm = await threads.sumOfSquares(g);
      assert.equal(threads.lastWidth, 3);
      assert.equal(norm, sumOfSquares(g1), `norm at step ${step}`);
      await threads.adamw(many, p, g, 1e-3, scale);
      assert.equal(threads.lastWidth, 3);
      one.apply(p1, g1, 1e-3, scale);
      assert.deepEqual(p, p1, `parameters after step ${step}`);
      assert.deepEqual(many.m, one.m, `first moments after step ${step}`);
      assert.deepEqual(many.v, one.v, `second moments after step ${step}`);
      for (let i = 0; i < n; i += 9973) g[i] = g1[i] = -g[i];
    }
    assert.equal(many.step, 3);
  } finally {
    await threads.dispose();
  }
});

test('a pass over arrays that are not shared runs on this thread, with the same result', async () => {
  const n = 2 * SQUARES_CHUNK + 7;
  const { plain: [p, g] } = arrays(n, 2);
  const p1 = p.slice();
  const threads = new UpdateThreads(2, 0);
  try {
    assert.equal(await threads.sumOfSquares(g), sumOfSquares(g));
    assert.equal(threads.lastWidth, 1);
    const a = new AdamW(n);
    await threads.adamw(a, p, g, 1e-2);
    new AdamW(n).apply(p1, g, 1e-2);
    assert.deepEqual(p, p1);
  } finally {
    await threads.dispose();
  }
});

test('clipping scales each gradient element as a float32 before the update (torch clips the stored gradient)', () => {
  const g = Float32Array.of(0.3, -1.7, 2.9);
  const clipped = g.map((x) => x * 0.3);
  const a = Float32Array.of(1, 2, 3);
  const b = a.slice();
  new AdamW(3).apply(a, g, 0.1, 0.3);
  new AdamW(3).apply(b, clipped, 0.1);
  assert.deepEqual(a, b);
});
