/**
 * One shard of an exact search: documents from..to-1 of an index scored by lib/scores' blocked MaxSim,
 * then each query's top-k of the shard. The same function runs on the main thread (shard 0) and in each
 * search worker thread (lib/retrieval/search-pool.ts); every array it reads or writes lives on a
 * SharedArrayBuffer, so a job costs no copy of the index or of the scores.
 */
import { maxSimBlocked, type SearchTimings } from '../scores/maxsim-blocked';
import { topKInto } from './topk';

export interface ShardJob {
  dim: number;
  /** Document d's tokens are rows offsets[d]..offsets[d+1] of `store`. */
  offsets: Float64Array;
  store: Float32Array | Uint16Array;
  /** The batch's queries, rows stacked: query q is tokens queryStart[q]..queryStart[q+1] of `queries`. */
  queries: Float32Array;
  queryStart: Int32Array;
  /** Queries in the batch. */
  nq: number;
  /** Query q's score of document d goes to scores[q * stride + d]. */
  scores: Float64Array;
  stride: number;
  from: number;
  to: number;
  /** When > 0: query q's top-k of the shard go to topDocs[(slot * nq + q) * k ...], their count to topCounts[slot * nq + q]. */
  k: number;
  slot: number;
  topDocs: Int32Array;
  topCounts: Int32Array;
  maxBlockFloats: number;
  product: 'ort' | 'tfjs';
  /** Threads for the products (ORT) of this shard. */
  threads: number;
}

/** Runs one shard; adds seconds per stage to `timings` when given. */
export function runShard(job: ShardJob, timings?: SearchTimings): void {
  const { dim, nq, stride } = job;
  const queries: Float32Array[] = [];
  const out: Float64Array[] = [];
  for (let q = 0; q < nq; q++) {
    queries.push(job.queries.subarray(job.queryStart[q] * dim, job.queryStart[q + 1] * dim));
    out.push(job.scores.subarray(q * stride, q * stride + stride));
  }
  maxSimBlocked(queries, { dim, offsets: job.offsets, store: job.store }, out, {
    from: job.from,
    to: job.to,
    maxBlockFloats: job.maxBlockFloats,
    product: job.product,
    threads: job.threads,
    timings,
  });
  if (job.k > 0) {
    for (let q = 0; q < nq; q++) {
      const at = (job.slot * nq + q) * job.k;
      job.topCounts[job.slot * nq + q] = topKInto(out[q], job.from, job.to, job.k, job.topDocs.subarray(at, at + job.k));
    }
  }
}
