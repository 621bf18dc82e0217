/**
 * Encoding on several cores: tfjs-wasm computes on one thread, so `workers` threads each load the model
 * and encode a contiguous shard of the texts; the results are joined in input order (ColBERT outputs padded
 * to the longest shard). Each text's vectors are what a single `encode` gives (the same ops on the same rows).
 *
 *   const out = await encodeParallel('path/to/model', texts, 'document', { workers: 2 });
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors';
import type { Encoded } from '../scores/encoded';
import type { Encoder } from './encoder';
import type { HeadKind } from '../scores/encoded';
import type { Role } from '../tokenize/types';

export interface ParallelEncoded {
  kind: HeadKind;
  dim: number;
  /** Tokens per text (ColBERT); 1 for dense. */
  length: number;
  /** [n, length, dim] (ColBERT) or [n, dim] (dense). */
  embeddings: Float32Array;
  /** [n, length], 1 = scored (ColBERT only). */
  mask?: Float32Array;
}

interface Done {
  type: 'done';
  kind: HeadKind;
  dim: number;
  shape: number[];
  embeddings: Float32Array;
  mask?: Float32Array;
}

export async function encodeParallel(
  modelDir: string,
  texts: string[],
  role: Role,
  opts: { workers: number; batchSize?: number; onProgress?: (done: number, total: number) => void },
): Promise<ParallelEncoded> {
  // Never more workers than batches: an idle worker still loads tfjs and the model.
  const workers = Math.max(1, Math.min(opts.workers, Math.ceil(texts.length / (opts.batchSize ?? 32)) || 1));
  const per = Math.ceil(texts.length / workers);
  const shards = Array.from({ length: workers }, (_, w) => texts.slice(w * per, (w + 1) * per));
  const progress = new Array(workers).fill(0);
  const bootstrap = path.join(__dirname, 'encode-worker-bootstrap.cjs');
  const results = await Promise.all(
    shards.map(
      (shard, w) =>
        new Promise<Done>((resolve, reject) => {
          const worker = new Worker(bootstrap, { workerData: { modelDir: path.resolve(modelDir), texts: shard, role, batchSize: opts.batchSize ?? 32 } });
          worker.on('message', (m: { type: string } & Record<string, unknown>) => {
            if (m.type === 'progress') {
              progress[w] = m.done as number;
              opts.onProgress?.(progress.reduce((a, b) => a + b, 0), texts.length);
            } else if (m.type === 'done') {
              resolve(m as unknown as Done);
              void worker.terminate();
            } else {
              reject(m.name === 'UserError' ? new UserError(String(m.message)) : new Error(`encoding worker ${w}: ${m.message}`));
              void worker.terminate();
            }
          });
          worker.on('error', (e) => reject(new Error(`encoding worker ${w}: ${e.message}`)));
          worker.on('exit', (code) => {
            if (code !== 0) reject(new Error(`encoding worker ${w} exited with code ${code}`));
          });
        }),
    ),
  );
  const { kind, dim } = results[0];
  if (kind === 'dense') {
    const embeddings = new Float32Array(texts.length * dim);
    let row = 0;
    for (const r of results) {
      embeddings.set(r.embeddings, row * dim);
      row += r.shape[0];
    }
    return { kind, dim, length: 1, embeddings };
  }
  const L = Math.max(0, ...results.map((r) => r.shape[1]));
  const embeddings = new Float32Array(texts.length * L * dim);
  const mask = new Float32Array(texts.length * L);
  let row = 0;
  for (const r of results) {
    const [n, Lr] = r.shape;
    for (let i = 0; i < n; i++, row++) {
      embeddings.set(r.embeddings.subarray(i * Lr * dim, (i + 1) * Lr * dim), row * L * dim);
      mask.set(r.mask!.subarray(i * Lr, (i + 1) * Lr), row * L);
    }
  }
  return { kind, dim, length: L, embeddings, mask };
}

/**
 * An `Encoder` over `workers` threads: each `encode` call shards the texts as `encodeParallel` does. Use
 * it wherever an Encoder goes (indexCorpus, evaluateRetrieval) to spread encoding over the cores.
 */
export class ParallelEncoder implements Encoder {
  constructor(readonly modelDir: string, readonly kind: Encoded['kind'], readonly dim: number, readonly workers: number) {
    if (!Number.isInteger(workers) || workers < 1) throw new UserError(`workers must be a positive integer, got ${workers}`);
  }

  async encode(texts: string[], role: Role, opts: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {}): Promise<Encoded> {
    const r = await encodeParallel(this.modelDir, texts, role, { workers: this.workers, ...opts });
    if (r.kind !== this.kind || r.dim !== this.dim) throw new UserError(`${this.modelDir}: workers loaded a ${r.kind} model of dim ${r.dim}, expected ${this.kind} of dim ${this.dim}`);
    if (r.kind === 'dense') return { kind: r.kind, embeddings: tf.tensor2d(r.embeddings, [texts.length, r.dim]) };
    return { kind: r.kind, embeddings: tf.tensor3d(r.embeddings, [texts.length, r.length, r.dim]), mask: tf.tensor2d(r.mask!, [texts.length, r.length]) };
  }
}
