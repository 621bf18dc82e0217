/** One optimiser thread (see update-threads.ts): runs the range of a pass it is sent, on shared arrays. */
import { parentPort } from 'node:worker_threads';
import { adamwRange, chunkSquares, type AdamWArrays, type AdamWUpdate } from './optim';

/** A pass over [lo, hi): chunks of Σx², or elements of an AdamW update. */
export type UpdateTask = { kind: 'squares'; x: Float32Array; lo: number; hi: number } | { kind: 'adamw'; arrays: AdamWArrays; update: AdamWUpdate; lo: number; hi: number };

export type UpdateJob = UpdateTask & { id: number };

export interface UpdateReply {
  id: number;
  /** Σx² of each chunk in [lo, hi) ('squares'). */
  parts?: Float64Array;
  error?: string;
}

parentPort?.on('message', (job: UpdateJob) => {
  try {
    if (job.kind === 'squares') {
      const parts = new Float64Array(job.hi - job.lo);
      for (let c = job.lo; c < job.hi; c++) parts[c - job.lo] = chunkSquares(job.x, c);
      parentPort!.postMessage({ id: job.id, parts } satisfies UpdateReply);
    } else {
      adamwRange(job.arrays, job.update, job.lo, job.hi);
      parentPort!.postMessage({ id: job.id } satisfies UpdateReply);
    }
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message } satisfies UpdateReply);
  }
});
