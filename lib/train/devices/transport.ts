/**
 * What data-parallel training needs from the devices' interconnect. Every collective is called by all
 * ranks in the same order; results are identical on every rank (reductions sum in rank order, so the
 * result does not depend on which rank finishes first).
 */
export interface Transport {
  readonly rank: number;
  readonly world: number;
  /** Every rank's array, indexed by rank (arrays may differ in length). */
  allGather(x: Float32Array): Promise<Float32Array[]>;
  /** Element-wise sum over ranks, in rank order. */
  allReduceSum(x: Float32Array): Promise<Float32Array>;
  /** Root's array on every rank (others pass any array, ignored). */
  broadcast(x: Float32Array, root: number): Promise<Float32Array>;
  barrier(): Promise<void>;
  /** A blocking all-gather, when the transport can wait synchronously (shared memory can; IPC cannot). */
  allGatherSync?(x: Float32Array): Float32Array[];
}

/** One device: collectives are identities. */
export class LocalTransport implements Transport {
  readonly rank = 0;
  readonly world = 1;
  async allGather(x: Float32Array): Promise<Float32Array[]> {
    return [x];
  }
  async allReduceSum(x: Float32Array): Promise<Float32Array> {
    return x;
  }
  async broadcast(x: Float32Array): Promise<Float32Array> {
    return x;
  }
  async barrier(): Promise<void> {}
  allGatherSync(x: Float32Array): Float32Array[] {
    return [x];
  }
}

/** Sums arrays element-wise in the given (rank) order. */
export function sumInOrder(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts[0].length);
  for (const p of parts) {
    if (p.length !== out.length) throw new Error(`allReduce: arrays of length ${p.length} and ${out.length}`);
    for (let i = 0; i < out.length; i++) out[i] += p[i];
  }
  return out;
}
