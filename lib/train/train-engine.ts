/**
 * What computes a training step, whichever engine: the model's parameters as one flat float32 array
 * (variables in order, then a learnable log-temperature) that the optimiser updates in place, and the
 * gradient of a micro-batch as arrays in the same order, so the training loop, the all-reduce, AdamW and the
 * checkpoints are one code path. Implementations: ./tfjs-engine.ts (the reference), ./ort/engine.ts.
 */
import type { Example } from '../data/training';
import type { Engine } from '../backend/engine';
import type { Transport } from './devices/transport';
import type { TrainModel } from './model-factory';

/** A micro-batch on this rank: its loss, and the extra parameters' gradient (a learnable log-temperature), already global. */
export interface EngineShare {
  loss: number;
  extraGrads: Float32Array;
}

export interface TrainVariable {
  name: string;
  shape: number[];
}

export interface TrainEngine {
  readonly engine: Engine;
  /** Model parameters then extra parameters, flattened in variable order; updated in place by the optimiser. */
  readonly params: Float32Array;
  /** Floats of the model's own parameters (the rest of `params` are extra parameters). */
  readonly modelSize: number;
  readonly variables: TrainVariable[];
  /** Threads this replica computes on (ONNX Runtime's intra-op threads; tfjs: 1); the optimiser's update uses as many. */
  readonly threads: number;
  /**
   * Adds this rank's share of a micro-batch's model gradient into `grads[0, modelSize)` (the sum over ranks
   * is the full gradient); one buffer serves every step, so no gradient-sized array is made per step.
   */
  microStep(examples: Example[], t: Transport, stepSeed: number, grads: Float32Array): Promise<EngineShare>;
  /** To be called after `params` changed (an update, a checkpoint load). */
  paramsChanged(): void;
  /** The model holding the current parameters (to save or evaluate it). */
  syncedModel(): TrainModel;
  /** The learnable temperature's current value, when there is one. */
  temperature(): number | undefined;
  dispose(): Promise<void>;
}

