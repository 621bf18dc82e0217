/**
 * Memory of one training step, measured: the gradient of a config's first batch (as gradcheck computes
 * it: `probeGradient`), with GradCache at the config's mini-batch or as one plain graph over the whole
 * batch, both on the tfjs engine, while every tfjs tensor allocation is observed (ONNX Runtime's memory is
 * the process's: bench/gradcache-memory.ts measures its resident size). The peak is exact for tensors (the engine's byte
 * count after each allocation), not the process's resident memory; it includes the model built for the
 * step (its weights and their gradients), which is the same for both methods.
 * bench/gradcache-memory.ts measures the same thing at larger batches, each in a fresh process.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend/select';
import type { TrainConfig } from './config';
import { probeGradient } from './run';

export interface StepMemory {
  /** Largest total of live tensor bytes during the step, above what was live before it. */
  peakBytes: number;
  /** Tensor bytes still live after the step, above what was live before it (0 unless something leaks). */
  leakedBytes: number;
  loss: number;
  seconds: number;
}

type TrackingEngine = { trackTensor: (...a: unknown[]) => unknown; state: { numBytes: number } };

/** Peak tensor memory of one step of `config` (plain: one graph over the whole batch; else GradCache at config.miniBatch). */
export async function stepMemory(config: TrainConfig, o: { plain?: boolean } = {}): Promise<StepMemory> {
  await initBackend();
  const engine = tf.engine() as unknown as TrackingEngine;
  const before = engine.state.numBytes;
  let peak = before;
  const own = Object.prototype.hasOwnProperty.call(engine, 'trackTensor');
  const original = engine.trackTensor;
  engine.trackTensor = function (this: unknown, ...a: unknown[]) {
    const r = original.apply(engine, a);
    if (engine.state.numBytes > peak) peak = engine.state.numBytes;
    return r;
  };
  const t0 = Date.now();
  try {
    // Both methods on tfjs, the engine whose tensors this counts: ONNX Runtime's buffers are not tfjs tensors,
    // so a GradCache step on it would read as almost nothing beside a plain graph on tfjs.
    const r = await probeGradient(config, undefined, { plain: o.plain ?? false, engine: 'tfjs' });
    return { peakBytes: peak - before, leakedBytes: engine.state.numBytes - before, loss: r.loss, seconds: (Date.now() - t0) / 1000 };
  } finally {
    if (own) engine.trackTensor = original;
    else delete (engine as Partial<TrackingEngine>).trackTensor;
  }
}
