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

export class AdamW {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private m: Float32Array;
  private v: Float32Array;
  /** Number of updates taken so far. */
  step = 0;

  constructor(readonly size: number, opts: AdamWOptions = {}) {
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
  }

  /** One update of `params` (in place) with learning rate `lr`. */
  apply(params: Float32Array, grads: Float32Array, lr: number): void {
    if (params.length !== this.size || grads.length !== this.size) throw new Error(`AdamW: ${params.length} parameters and ${grads.length} gradients for ${this.size}`);
    this.step += 1;
    const [b1, b2] = this.betas;
    const bc2sqrt = Math.sqrt(1 - Math.pow(b2, this.step));
    const stepSize = lr / (1 - Math.pow(b1, this.step));
    const decay = 1 - lr * this.weightDecay;
    const { m, v, eps } = this;
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      const mi = (m[i] = m[i] + (g - m[i]) * (1 - b1));
      const vi = (v[i] = v[i] * b2 + g * g * (1 - b2));
      params[i] = params[i] * decay - (mi / (Math.sqrt(vi) / bc2sqrt + eps)) * stepSize;
    }
  }

  getState(): AdamWState {
    return { step: this.step, m: this.m.slice(), v: this.v.slice() };
  }

  setState(s: AdamWState): void {
    if (s.m.length !== this.size || s.v.length !== this.size) throw new Error(`AdamW state has ${s.m.length} moments for ${this.size} parameters`);
    this.step = s.step;
    this.m = s.m.slice();
    this.v = s.v.slice();
  }
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

/** Σx² over every element, in float64 and in order (a float32 norm can overflow on finite values). */
export function sumOfSquares(x: Float32Array): number {
  let total = 0;
  for (let i = 0; i < x.length; i++) total += x[i] * x[i];
  return total;
}

/**
 * Scales gradients (in place) so their global norm is at most maxNorm (torch: coefficient maxNorm/(norm+1e-6),
 * clamped at 1). Returns the norm before clipping.
 */
export function clipByGlobalNorm(grads: Float32Array, maxNorm: number, norm = Math.sqrt(sumOfSquares(grads))): number {
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  if (coef < 1) for (let i = 0; i < grads.length; i++) grads[i] *= coef;
  return norm;
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
