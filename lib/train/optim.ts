/**
 * Optimisation: AdamW (PyTorch's algorithm: decoupled weight decay applied before the update, bias
 * correction, eps added after the square root), the linear warm-up/decay schedule of Hugging Face's
 * get_linear_schedule_with_warmup, and global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
 * Parameters, gradients and moments are flat float32 arrays (every variable in order, each row-major),
 * whichever engine computed the gradient; each element is updated in float64 and stored as float32.
 */

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array;
  v: Float32Array;
}

/** The constants of one update (see AdamW.next): betas, eps and this step's bias corrections and rates. */
export interface AdamWUpdate {
  b1: number;
  b2: number;
  eps: number;
  bc2sqrt: number;
  stepSize: number;
  decay: number;
  /** Clipping's coefficient, applied to each gradient element (rounded to float32) before the update. */
  gradScale: number;
}

/** The arrays one update reads and writes; shared-memory arrays let several threads update parts of them. */
export interface AdamWArrays {
  params: Float32Array;
  grads: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

/** The update of elements [lo, hi): the same arithmetic whichever thread runs which range. */
export function adamwRange(a: AdamWArrays, u: AdamWUpdate, lo: number, hi: number): void {
  const { params, grads, m, v } = a;
  const { b1, b2, eps, bc2sqrt, stepSize, decay, gradScale } = u;
  const c1 = 1 - b1;
  const c2 = 1 - b2;
  for (let i = lo; i < hi; i++) {
    // fround(g · 1) is g: one expression serves clipped and unclipped steps alike.
    const g = Math.fround(grads[i] * gradScale);
    const m0 = m[i];
    const mi = m0 + (g - m0) * c1;
    const vi = v[i] * b2 + g * g * c2;
    m[i] = mi;
    v[i] = vi;
    params[i] = params[i] * decay - (mi / (Math.sqrt(vi) / bc2sqrt + eps)) * stepSize;
  }
}

export class AdamW {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** First and second moments; on shared memory when asked (for updates spread over threads). */
  readonly m: Float32Array;
  readonly v: Float32Array;
  /** Number of updates taken so far. */
  step = 0;

  constructor(readonly size: number, opts: AdamWOptions & { shared?: boolean } = {}) {
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.m = opts.shared ? sharedFloats(size) : new Float32Array(size);
    this.v = opts.shared ? sharedFloats(size) : new Float32Array(size);
  }

  /** Counts one more update and returns its constants at learning rate `lr`. */
  next(lr: number, gradScale = 1): AdamWUpdate {
    this.step += 1;
    const [b1, b2] = this.betas;
    return {
      b1,
      b2,
      eps: this.eps,
      bc2sqrt: Math.sqrt(1 - Math.pow(b2, this.step)),
      stepSize: lr / (1 - Math.pow(b1, this.step)),
      decay: 1 - lr * this.weightDecay,
      gradScale,
    };
  }

  /** One update of `params` (in place) with learning rate `lr`, on this thread (see UpdateThreads for more). */
  apply(params: Float32Array, grads: Float32Array, lr: number, gradScale = 1): void {
    this.check(params, grads);
    adamwRange({ params, grads, m: this.m, v: this.v }, this.next(lr, gradScale), 0, this.size);
  }

  check(params: Float32Array, grads: Float32Array): void {
    if (params.length !== this.size || grads.length !== this.size) throw new Error(`AdamW: ${params.length} parameters and ${grads.length} gradients for ${this.size}`);
  }

  getState(): AdamWState {
    return { step: this.step, m: this.m.slice(), v: this.v.slice() };
  }

  setState(s: AdamWState): void {
    if (s.m.length !== this.size || s.v.length !== this.size) throw new Error(`AdamW state has ${s.m.length} moments for ${this.size} parameters`);
    this.step = s.step;
    this.m.set(s.m);
    this.v.set(s.v);
  }
}

/** A float32 array on shared memory (threads read and write it without copies). */
export function sharedFloats(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

export interface ScheduleOptions {
  kind: 'linear' | 'constant';
  lr: number;
  warmupSteps: number;
  totalSteps: number;
}

/**
 * Learning rate for the update after `step` updates (0-based), as Hugging Face's schedulers: warm-up
 * from 0 to lr over warmupSteps, then linear decay to 0 at totalSteps (or constant).
 */
export function learningRateAt(step: number, s: ScheduleOptions): number {
  if (step < s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  if (s.kind === 'constant') return s.lr;
  return s.lr * Math.max(0, (s.totalSteps - step) / Math.max(1, s.totalSteps - s.warmupSteps));
}

/** Elements per partial sum of sumOfSquares: the sum is the same whichever threads compute the partials. */
export const SQUARES_CHUNK = 1 << 20;

/** Σx² over chunk `c` (elements [c·SQUARES_CHUNK, (c+1)·SQUARES_CHUNK)), in float64 and in order. */
export function chunkSquares(x: Float32Array, c: number): number {
  let total = 0;
  for (let i = c * SQUARES_CHUNK, end = Math.min(x.length, i + SQUARES_CHUNK); i < end; i++) total += x[i] * x[i];
  return total;
}

/**
 * Σx² over every element in float64 (a float32 norm can overflow on finite values): the sum, in order, of
 * each chunk's sum, so that threads splitting the chunks (UpdateThreads) get the same number.
 */
export function sumOfSquares(x: Float32Array): number {
  let total = 0;
  for (let c = 0; c * SQUARES_CHUNK < x.length; c++) total += chunkSquares(x, c);
  return total;
}

/** torch.nn.utils.clip_grad_norm_'s coefficient: maxNorm/(norm+1e-6), clamped at 1. */
export function clipCoefficient(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/** k learning rates log-spaced from hi down to lo (the paper sweeps 10 values per phase, Table 1). */
export function logSpaced(lo: number, hi: number, k: number): number[] {
  if (k === 1) return [hi];
  const a = Math.log(hi);
  const b = Math.log(lo);
  return Array.from({ length: k }, (_, i) => Math.exp(a + ((b - a) * i) / (k - 1)));
}

export interface SweepResult {
  best: { lr: number; score: number };
  results: Array<{ lr: number; score: number }>;
}

/**
 * Trains once per learning rate and keeps the one whose validation score (higher is better, e.g.
 * NanoBEIR nDCG@10) is best. Non-finite scores (a diverged run) never win.
 */
export async function sweepLearningRates(lrs: number[], trainAndEvaluate: (lr: number) => Promise<number>): Promise<SweepResult> {
  const results: Array<{ lr: number; score: number }> = [];
  for (const lr of lrs) results.push({ lr, score: await trainAndEvaluate(lr) });
  const finite = results.filter((r) => Number.isFinite(r.score));
  if (finite.length === 0) throw new Error('learning-rate sweep: every run diverged or failed to score');
  const best = finite.reduce((a, b) => (b.score > a.score ? b : a));
  return { best, results };
}
