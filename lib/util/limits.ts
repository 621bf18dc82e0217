/**
 * Limits on parallelism (`--workers`, `--devices`): each worker is a tfjs-wasm replica on one core with
 * its own copy of the model, so more workers than cores only share cores, more than there is work
 * only start up, and more than memory holds brings the machine down. Checked before anything starts.
 */
import * as os from 'node:os';
import { UserError } from './errors';
import { envValue } from './env';

/**
 * What one worker costs before its model and activations: measured as the RSS growth per encoding
 * worker thread with the tiny model (tfjs, the wasm runtime, tsx, tokenizer: 220–280 MB), and 22.2 GB
 * for 64 training devices of the tiny example (about 350 MB each).
 */
export const ENCODE_WORKER_BASE_BYTES = 280e6;
const TRAIN_DEVICE_BASE_BYTES = 350e6;

/** Share of the memory a plan may take: the main thread, the OS and other programs need the rest. */
const MEMORY_SHARE = 0.8;

const gb = (b: number) => `${(b / 1e9).toFixed(1)} GB`;
const mb = (b: number) => `${Math.round(b / 1e6)} MB`;

export interface ParallelPlan {
  /** The option, for messages: `--workers`, `--devices`. */
  what: string;
  requested: number;
  /** Estimated peak memory of one worker. */
  perWorkerBytes: number;
  /** Units of work (batches): never more workers than this. */
  work?: number;
  /** The worker count is fixed by the user's batch split (devices): it is checked, not lowered. */
  fixed?: boolean;
}

/** Memory a plan may use here: a share of the total, and never more than is available now. */
export function memoryBudget(): number {
  return Math.min(os.totalmem() * MEMORY_SHARE, os.freemem());
}

/**
 * The number of workers to start: at most the work, a warning (one stderr line) above the core count,
 * and a UserError when the estimate does not fit in memory.
 */
export function planParallelism(p: ParallelPlan, warn: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  const n = p.fixed || p.work === undefined ? p.requested : Math.max(1, Math.min(p.requested, p.work));
  const cores = os.availableParallelism();
  if (n > cores) warn(`${p.what} ${n}: more than the ${cores} cores here; workers will share cores (slower, not faster)`);
  const need = n * p.perWorkerBytes;
  const budget = memoryBudget();
  if (n > 1 && need > budget) {
    const fit = Math.max(1, Math.floor(budget / p.perWorkerBytes));
    throw new UserError(`${p.what} ${n}: needs about ${gb(need)} (${mb(p.perWorkerBytes)} per worker: runtime, model, activations), more than the ${gb(budget)} this machine can give; use at most ${fit}`);
  }
  return n;
}

const warned = new Set<string>();

/**
 * Native threads for one model or one search (`--threads`, else CZ_THREADS, else every core), capped at
 * the cores: more only makes the OS juggle them (999 ran a 3-second search past two minutes). Above the
 * cores it warns once (one stderr line) and uses the cores.
 */
export function threadCount(requested?: number, what = '--threads', warn: (line: string) => void = (l) => process.stderr.write(l + '\n')): number {
  const env = envValue('CZ_THREADS');
  const cores = os.availableParallelism();
  const n = requested ?? (env ? Number(env) : cores);
  if (!Number.isSafeInteger(n) || n < 1) throw new UserError(`${what} must be a positive integer, got ${n}`);
  if (n <= cores) return n;
  const line = `${requested !== undefined ? what : 'CZ_THREADS'} ${n}: more than the ${cores} cores here; using ${cores} threads`;
  if (!warned.has(line)) {
    warned.add(line);
    warn(line);
  }
  return cores;
}

/** Activation bytes of a forward pass of `rows` texts of `length` tokens (one layer's peak, float32). */
function activationBytes(rows: number, length: number, c: { hidden: number; heads: number; intermediate: number }, layersKept = 1): number {
  const perToken = 4 * c.hidden + 2 * c.intermediate; // Wqkv, attention output, residual, GeGLU input
  const attention = c.heads * length * length * 2; // scores and softmax
  return 4 * rows * (length * perToken + attention) * layersKept;
}

/** What an encoding worker's memory depends on: the weight files' size, the longest input and the layer sizes (from the model's config). */
export interface EncoderShape {
  weightBytes: number;
  maxSeqLength: number;
  hidden: number;
  heads: number;
  intermediate: number;
}

/** Peak memory of one encoding worker of a model of `shape` (ModelFolder.encoderShape) at `batchSize`. */
export function encodeWorkerBytes(shape: EncoderShape, batchSize: number): number {
  // Weights twice (file buffer while loading, then tensors) plus one forward pass of a batch.
  return ENCODE_WORKER_BASE_BYTES + 2 * shape.weightBytes + activationBytes(batchSize, shape.maxSeqLength, shape);
}

/**
 * Peak memory of one training device: weights, gradients and AdamW's two moments, plus the copy of the
 * weights ONNX Runtime reads (5 copies of the parameters), plus the graph of one mini-batch (every layer's
 * activations are kept for the backward pass).
 */
export function trainDeviceBytes(m: { params: number; hidden: number; heads: number; intermediate: number; layers: number }, rows: number, length: number): number {
  return TRAIN_DEVICE_BASE_BYTES + 5 * 4 * m.params + activationBytes(rows, length, m, m.layers);
}
