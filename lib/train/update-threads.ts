/**
 * The optimiser's passes over every parameter (the gradient's squared norm, then AdamW) spread over this
 * thread and `threads - 1` worker threads. At a small ModernBERT's 15M parameters one AdamW pass takes
 * ~130 ms on one core: a tenth of a step, while ONNX Runtime's other threads would sit idle. Each
 * thread updates its own contiguous range with the same arithmetic (optim.ts), and the norm is summed
 * from fixed chunks in order, so the result never depends on the number of threads. Arrays must live on
 * shared memory (sharedFloats) to be split; anything else, or fewer than `minElements`, runs here.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { adamwRange, chunkSquares, SQUARES_CHUNK, sumOfSquares, type AdamW, type AdamWArrays, type AdamWUpdate } from './optim';
import type { UpdateReply, UpdateTask } from './update-worker';

/** Below this many parameters a pass takes a few milliseconds: not worth a message to another thread. */
const MIN_PARALLEL = 1 << 21;

const isShared = (x: Float32Array) => x.buffer instanceof SharedArrayBuffer;

export class UpdateThreads {
  private helpers: Array<{ worker: Worker; pending: Map<number, { resolve: (r: UpdateReply) => void; reject: (e: Error) => void }>; failed?: Error }> = [];
  private nextId = 1;
  /** Threads the last pass ran on (this one included). */
  lastWidth = 0;

  constructor(
    readonly threads: number,
    private readonly minElements = MIN_PARALLEL,
  ) {}

  /** How many threads a pass over `n` elements of these arrays uses. */
  private width(n: number, arrays: Float32Array[]): number {
    const parallel = this.threads > 1 && n >= this.minElements && arrays.every(isShared);
    this.lastWidth = parallel ? Math.min(this.threads, Math.ceil(n / SQUARES_CHUNK)) : 1;
    return this.lastWidth;
  }

  /** Σx² in float64, equal to optim.ts's sumOfSquares(x) bit for bit. */
  async sumOfSquares(x: Float32Array): Promise<number> {
    const w = this.width(x.length, [x]);
    if (w === 1) return sumOfSquares(x);
    const chunks = Math.ceil(x.length / SQUARES_CHUNK);
    const parts = new Float64Array(chunks);
    const ranges = split(chunks, w);
    const replies = ranges.slice(1).map(([lo, hi], i) => this.ask(i, { kind: 'squares', x, lo, hi }));
    for (let c = ranges[0][0]; c < ranges[0][1]; c++) parts[c] = chunkSquares(x, c);
    for (const [i, r] of (await Promise.all(replies)).entries()) parts.set(r.parts!, ranges[i + 1][0]);
    let total = 0;
    for (const p of parts) total += p;
    return total;
  }

  /** One AdamW update of `params` (in place): `opt.apply`'s result, computed in ranges. */
  async adamw(opt: AdamW, params: Float32Array, grads: Float32Array, lr: number, gradScale = 1): Promise<void> {
    const n = params.length;
    const w = this.width(n, [params, grads, opt.m, opt.v]);
    if (w === 1) return opt.apply(params, grads, lr, gradScale);
    opt.check(params, grads);
    const a: AdamWArrays = { params, grads, m: opt.m, v: opt.v };
    const u: AdamWUpdate = opt.next(lr, gradScale);
    // Ranges in whole chunks keep each thread's writes on its own cache lines.
    const ranges = split(Math.ceil(n / SQUARES_CHUNK), w).map(([lo, hi]) => [lo * SQUARES_CHUNK, Math.min(n, hi * SQUARES_CHUNK)]);
    const replies = ranges.slice(1).map(([lo, hi], i) => this.ask(i, { kind: 'adamw', arrays: a, update: u, lo, hi }));
    adamwRange(a, u, ranges[0][0], ranges[0][1]);
    await Promise.all(replies);
  }

  /** Stops the worker threads (a later pass starts them again). */
  async dispose(): Promise<void> {
    const hs = this.helpers;
    this.helpers = [];
    await Promise.all(hs.map((h) => h.worker.terminate()));
  }

  private ask(i: number, job: UpdateTask): Promise<UpdateReply> {
    const h = (this.helpers[i] ??= this.start());
    if (h.failed) return Promise.reject(h.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      h.pending.set(id, { resolve, reject });
      h.worker.ref();
      h.worker.postMessage({ ...job, id });
    });
  }

  private start(): UpdateThreads['helpers'][number] {
    const worker = new Worker(path.join(__dirname, 'update-worker-bootstrap.cjs'));
    const h: UpdateThreads['helpers'][number] = { worker, pending: new Map() };
    const fail = (e: Error) => {
      h.failed ??= e;
      for (const p of h.pending.values()) p.reject(h.failed);
      h.pending.clear();
    };
    worker.on('message', (r: UpdateReply) => {
      const p = h.pending.get(r.id);
      h.pending.delete(r.id);
      if (h.pending.size === 0) worker.unref();
      if (r.error) p?.reject(new Error(`optimiser thread: ${r.error}`));
      else p?.resolve(r);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`optimiser thread exited with code ${code}`)));
    worker.unref();
    return h;
  }
}

/** [0, n) in `parts` contiguous ranges, as even as whole units allow. */
function split(n: number, parts: number): Array<[number, number]> {
  return Array.from({ length: parts }, (_, i) => [Math.floor((n * i) / parts), Math.floor((n * (i + 1)) / parts)]);
}
