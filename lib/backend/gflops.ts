import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matmul';

/** Measured float32 matMul throughput of the active backend (n×n·n×n, best of `repeats`). */
export async function measureMatMulGflops(n = 512, repeats = 5): Promise<{ n: number; gflops: number; seconds: number }> {
  const a = tf.randomUniform([n, n]) as tf.Tensor2D;
  const b = tf.randomUniform([n, n]) as tf.Tensor2D;
  let best = Infinity;
  try {
    (await matMul(a, b).data()); // warm-up: compiles/allocates once
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const c = matMul(a, b);
      await c.data();
      c.dispose();
      best = Math.min(best, (performance.now() - t0) / 1000);
    }
  } finally {
    a.dispose();
    b.dispose();
  }
  return { n, gflops: (2 * n * n * n) / best / 1e9, seconds: best };
}
