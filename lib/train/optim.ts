/**
 * Optimisation: AdamW (PyTorch's algorithm: decoupled weight decay applied before the update, bias
 * correction, eps added after the square root), the linear warm-up/decay schedule of Hugging Face's
 * get_linear_schedule_with_warmup, and global-norm gradient clipping as torch.nn.utils.clip_grad_norm_.
 * Gradients are arrays aligned with the variable list.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWOptions {
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface AdamWState {
  step: number;
  m: Float32Array[];
  v: Float32Array[];
}

export class AdamW {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private m: tf.Tensor[];
  private v: tf.Tensor[];
  /** Number of updates taken so far. */
  step = 0;

  constructor(readonly variables: tf.Variable[], opts: AdamWOptions = {}) {
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    this.m = variables.map((x) => tf.keep(tf.zerosLike(x)));
    this.v = variables.map((x) => tf.keep(tf.zerosLike(x)));
  }

  /** One update with learning rate `lr`; `grads[i]` belongs to `variables[i]`. */
  apply(grads: tf.Tensor[], lr: number): void {
    if (grads.length !== this.variables.length) throw new Error(`AdamW: ${grads.length} gradients for ${this.variables.length} variables`);
    this.step += 1;
    const [b1, b2] = this.betas;
    const bc1 = 1 - Math.pow(b1, this.step);
    const bc2sqrt = Math.sqrt(1 - Math.pow(b2, this.step));
    const stepSize = lr / bc1;
    this.variables.forEach((p, i) => {
      const g = grads[i];
      const [m, v, next] = tf.tidy(() => {
        const m = tf.add(this.m[i], tf.mul(tf.sub(g, this.m[i]), 1 - b1));
        const v = tf.add(tf.mul(this.v[i], b2), tf.mul(tf.square(g), 1 - b2));
        const decayed = tf.mul(p, 1 - lr * this.weightDecay);
        const denom = tf.add(tf.div(tf.sqrt(v), bc2sqrt), this.eps);
        return [tf.keep(m), tf.keep(v), tf.sub(decayed, tf.mul(tf.div(m, denom), stepSize))];
      });
      p.assign(next);
      next.dispose();
      this.m[i].dispose();
      this.v[i].dispose();
      this.m[i] = m;
      this.v[i] = v;
    });
  }

  getState(): AdamWState {
    return { step: this.step, m: this.m.map((t) => t.dataSync() as Float32Array), v: this.v.map((t) => t.dataSync() as Float32Array) };
  }

  setState(s: AdamWState): void {
    if (s.m.length !== this.variables.length) throw new Error(`AdamW state has ${s.m.length} moments for ${this.variables.length} variables`);
    this.step = s.step;
    this.m.forEach((t) => t.dispose());
    this.v.forEach((t) => t.dispose());
    this.m = s.m.map((a, i) => tf.keep(tf.tensor(a, this.variables[i].shape, 'float32')));
    this.v = s.v.map((a, i) => tf.keep(tf.tensor(a, this.variables[i].shape, 'float32')));
  }

  dispose(): void {
    this.m.forEach((t) => t.dispose());
    this.v.forEach((t) => t.dispose());
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

/** Global L2 norm of all gradients. */
export function globalNorm(grads: tf.Tensor[]): number {
  let total = 0;
  for (const g of grads) {
    const s = tf.tidy(() => tf.sum(tf.square(g)));
    total += s.dataSync()[0];
    s.dispose();
  }
  return Math.sqrt(total);
}

/**
 * Scales gradients so their global norm is at most maxNorm (torch: coefficient maxNorm/(norm+1e-6),
 * clamped at 1). Returns the norm before clipping and new gradient tensors (the inputs are disposed).
 */
export function clipByGlobalNorm(grads: tf.Tensor[], maxNorm: number, norm = globalNorm(grads)): { norm: number; grads: tf.Tensor[] } {
  const coef = Math.min(1, maxNorm / (norm + 1e-6));
  if (coef >= 1) return { norm, grads };
  const out = grads.map((g) => tf.mul(g, coef));
  grads.forEach((g) => g.dispose());
  return { norm, grads: out };
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
