/**
 * Collectives between processes, for one process per GPU (tfjs-node-gpu with CUDA_VISIBLE_DEVICES set per
 * process) or any setting where threads cannot share memory. The parent is a star relay: each child sends
 * its array for collective number `seq`; when all have arrived the parent sends every child the arrays of
 * all ranks. Messages use Node's "advanced" serialization, so Float32Arrays travel without JSON.
 */
import { PeerFailedError } from './shared-memory';
import { sumInOrder, type Transport } from './transport';

export type ToParent = { type: 'gather'; seq: number; data: Float32Array } | { type: 'done'; result: unknown } | { type: 'error'; name: string; message: string };
export type ToChild = { type: 'start'; input: unknown } | { type: 'gathered'; seq: number; parts: Float32Array[] } | { type: 'abort' };

export class IpcTransport implements Transport {
  private seq = 0;
  private waiting = new Map<number, { resolve: (p: Float32Array[]) => void; reject: (e: Error) => void }>();
  private aborted = false;

  constructor(readonly rank: number, readonly world: number) {
    process.on('message', (m: ToChild) => {
      if (m.type === 'gathered') {
        const w = this.waiting.get(m.seq);
        this.waiting.delete(m.seq);
        w?.resolve(m.parts);
      } else if (m.type === 'abort') {
        this.aborted = true;
        for (const w of this.waiting.values()) w.reject(new PeerFailedError());
        this.waiting.clear();
      }
    });
  }

  allGather(x: Float32Array): Promise<Float32Array[]> {
    if (this.aborted) return Promise.reject(new PeerFailedError());
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      process.send!({ type: 'gather', seq, data: x } satisfies ToParent);
    });
  }

  async allReduceSum(x: Float32Array): Promise<Float32Array> {
    return sumInOrder(await this.allGather(x));
  }

  async broadcast(x: Float32Array, root: number): Promise<Float32Array> {
    return (await this.allGather(this.rank === root ? x : new Float32Array(0)))[root];
  }

  async barrier(): Promise<void> {
    await this.allGather(new Float32Array(0));
  }
}
