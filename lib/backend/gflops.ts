import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matmul';
import { bestOf } from '../util/timing';

/** Measured float32 matMul throughput of the active backend (n×n·n×n, best of `repeats`). */
export async function measureMatMulGflops(n = 512, repeats = 5): Promise<{ n: number; gflops: number; seconds: number }> {
  const a = tf.randomUniform([n, n]) as tf.Tensor2D;
  const b = tf.randomUniform([n, n]) as tf.Tensor2D;
  try {
    // The warm-up run compiles and allocates once.
    const { seconds } = await bestOf(
      repeats,
      async () => {
        const c = matMul(a, b);
        await c.data();
        c.dispose();
      },
      { warmup: 1 },
    );
    return { n, gflops: (2 * n * n * n) / seconds / 1e9, seconds };
  } finally {
    a.dispose();
    b.dispose();
  }
}
