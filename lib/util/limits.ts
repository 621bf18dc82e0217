/**
 * Limits on parallelism (`--workers`, `--devices`): each worker is a tfjs-wasm replica on one core with
 * its own copy of the model, so more workers than cores only share cores, more than there is work
 * only start up, and more than memory holds brings the machine down. Checked before anything starts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from './errors';
import { envValue } from './env';
import { readJsonFile } from './json';

/**
 * What one worker costs before its model and activations: measured as the RSS growth per encoding
 * worker thread with the tiny model (tfjs, the wasm runtime, tsx, tokenizer: 220–280 MB), and 22.2 GB
 * for 64 training devices of the tiny example (about 350 MB each).
 */
export const ENCODE_WORKER_BASE_BYTES = 280e6;
export const TRAIN_DEVICE_BASE_BYTES = 350e6;

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

type Json = Record<string, unknown>;

function readJson(file: string): Json {
  try {
    return readJsonFile<Json>(file);
  } catch {
    return {};
  }
}

/** Bytes of the weight files of a model folder (and its module subfolders). */
function weightBytes(dir: string): number {
  let total = 0;
  const visit = (d: string, depth: number) => {
    let names: string[] = [];
    try {
      names = fs.readdirSync(d);
    } catch {
      return;
    }
    for (const f of names) {
      const p = path.join(d, f);
      const st = fs.statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory() && depth < 1) visit(p, depth + 1);
      else if (st.isFile() && (f.endsWith('.safetensors') || f.endsWith('.bin'))) total += st.size;
    }
  };
  visit(dir, 0);
  return total;
}

/** Activation bytes of a forward pass of `rows` texts of `length` tokens (one layer's peak, float32). */
export function activationBytes(rows: number, length: number, c: { hidden: number; heads: number; intermediate: number }, layersKept = 1): number {
  const perToken = 4 * c.hidden + 2 * c.intermediate; // Wqkv, attention output, residual, GeGLU input
  const attention = c.heads * length * length * 2; // scores and softmax
  return 4 * rows * (length * perToken + attention) * layersKept;
}

/** Peak memory of one encoding worker for the model folder `dir` (PyLate / sentence-transformers layout). */
export function encodeWorkerBytes(dir: string, batchSize: number): number {
  const cfg = readJson(path.join(dir, 'config.json'));
  const st = readJson(path.join(dir, 'sentence_bert_config.json'));
  const num = (v: unknown, d: number) => (typeof v === 'number' && v > 0 ? v : d);
  const length = num(st.max_seq_length, 512);
  const c = { hidden: num(cfg.hidden_size, 768), heads: num(cfg.num_attention_heads, 12), intermediate: num(cfg.intermediate_size, 1152) };
  // Weights twice (file buffer while loading, then tensors) plus one forward pass of a batch.
  return ENCODE_WORKER_BASE_BYTES + 2 * weightBytes(dir) + activationBytes(batchSize, length, c);
}

/**
 * Peak memory of one training device: weights, gradients and AdamW's two moments (4 copies of the
 * parameters) plus the graph of one mini-batch (every layer's activations are kept for the backward pass).
 */
export function trainDeviceBytes(m: { params: number; hidden: number; heads: number; intermediate: number; layers: number }, rows: number, length: number): number {
  return TRAIN_DEVICE_BASE_BYTES + 4 * 4 * m.params + activationBytes(rows, length, m, m.layers);
}
