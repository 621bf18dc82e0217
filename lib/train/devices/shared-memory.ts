/**
 * Collectives between worker threads over SharedArrayBuffers: each rank owns a slot of `capacity`
 * floats in one shared data buffer; a sense-reversing barrier (Atomics) separates writing from reading.
 * Arrays longer than a slot travel in slot-sized pieces. If a peer dies, the coordinator raises the
 * abort flag and every waiting rank throws instead of waiting forever.
 *
 * Control words: [0] barrier arrivals, [1] barrier generation, [2] abort flag, [3 + r] length from rank r.
 */
import { sumInOrder, type Transport } from './transport';

export interface SharedBuffers {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  /** Floats per rank slot. */
  capacity: number;
}

export function allocateShared(world: number, capacity: number): SharedBuffers {
  return {
    control: new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (3 + world)),
    data: new SharedArrayBuffer(Float32Array.BYTES_PER_ELEMENT * world * capacity),
    capacity,
  };
}

/** Coordinator side: wakes every waiting rank with the abort flag set. */
export function abortShared(b: SharedBuffers): void {
  const ctrl = new Int32Array(b.control);
  Atomics.store(ctrl, 2, 1);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}

export class PeerFailedError extends Error {
  constructor() {
    super('another device failed; stopping this one');
  }
}

export class SharedMemoryTransport implements Transport {
  private readonly ctrl: Int32Array;
  private readonly data: Float32Array;
  private readonly cap: number;

  constructor(readonly rank: number, readonly world: number, b: SharedBuffers) {
    this.ctrl = new Int32Array(b.control);
    this.data = new Float32Array(b.data);
    this.cap = b.capacity;
  }

  private checkAbort(): void {
    if (Atomics.load(this.ctrl, 2) !== 0) throw new PeerFailedError();
  }

  private barrierSync(): void {
    this.checkAbort();
    const gen = Atomics.load(this.ctrl, 1);
    if (Atomics.add(this.ctrl, 0, 1) === this.world - 1) {
      Atomics.store(this.ctrl, 0, 0);
      Atomics.add(this.ctrl, 1, 1);
      Atomics.notify(this.ctrl, 1);
      return;
    }
    while (Atomics.load(this.ctrl, 1) === gen) Atomics.wait(this.ctrl, 1, gen, 250);
    this.checkAbort();
  }

  async barrier(): Promise<void> {
    this.barrierSync();
  }

  async allGather(x: Float32Array): Promise<Float32Array[]> {
    return this.allGatherSync(x);
  }

  /** Blocking all-gather: usable inside a synchronous gradient computation (see step.ts). */
  allGatherSync(x: Float32Array): Float32Array[] {
    Atomics.store(this.ctrl, 3 + this.rank, x.length);
    this.barrierSync();
    const lengths = Array.from({ length: this.world }, (_, r) => Atomics.load(this.ctrl, 3 + r));
    const out = lengths.map((n) => new Float32Array(n));
    const longest = Math.max(...lengths);
    const mine = this.rank * this.cap;
    for (let off = 0; off < longest || off === 0; off += this.cap) {
      const piece = x.subarray(off, Math.min(x.length, off + this.cap));
      this.data.set(piece, mine);
      this.barrierSync();
      for (let r = 0; r < this.world; r++) {
        const n = Math.max(0, Math.min(this.cap, lengths[r] - off));
        if (n > 0) out[r].set(this.data.subarray(r * this.cap, r * this.cap + n), off);
      }
      this.barrierSync(); // nobody overwrites a slot before everyone has read it
      if (longest === 0) break;
    }
    return out;
  }

  async allReduceSum(x: Float32Array): Promise<Float32Array> {
    return sumInOrder(await this.allGather(x));
  }

  async broadcast(x: Float32Array, root: number): Promise<Float32Array> {
    return (await this.allGather(this.rank === root ? x : new Float32Array(0)))[root];
  }
}
