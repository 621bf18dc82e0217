/**
 * The worker threads of exact search: started on first need, kept for the next search (idle workers are
 * unref'd, so they never keep the process alive), one job at a time each. A job is a ShardJob whose arrays
 * live on SharedArrayBuffers: posting it shares them, nothing is copied.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SearchTimings } from '../scores/maxsim-blocked';
import type { ShardJob } from './search-shard';

interface Pending {
  resolve: (t: SearchTimings | undefined) => void;
  reject: (e: Error) => void;
}

interface PoolWorker {
  worker: Worker;
  pending: Map<number, Pending>;
  dead: boolean;
}

const workers: PoolWorker[] = [];
let nextId = 1;

function fail(w: PoolWorker, e: Error): void {
  w.dead = true;
  const i = workers.indexOf(w);
  if (i >= 0) workers.splice(i, 1);
  for (const p of w.pending.values()) p.reject(e);
  w.pending.clear();
}

function start(): PoolWorker {
  const worker = new Worker(path.join(__dirname, 'search-worker-bootstrap.cjs'));
  const w: PoolWorker = { worker, pending: new Map(), dead: false };
  worker.on('message', (msg: { id: number; timings?: SearchTimings; error?: { name: string; message: string } }) => {
    const p = w.pending.get(msg.id);
    if (!p) return;
    w.pending.delete(msg.id);
    if (w.pending.size === 0) worker.unref();
    if (msg.error) p.reject(Object.assign(new Error(`search worker: ${msg.error.message}`), { name: msg.error.name }));
    else p.resolve(msg.timings);
  });
  worker.on('error', (e) => fail(w, e));
  worker.on('exit', (code) => fail(w, new Error(`search worker exited with code ${code}`)));
  worker.unref();
  return w;
}

/**
 * Runs `jobs` on worker threads (one each, starting workers as needed); resolves with their timings once
 * all are done, or rejects with the first failure once all have finished (they write into the caller's buffers).
 */
export async function runOnWorkers(jobs: ShardJob[], timings: boolean): Promise<(SearchTimings | undefined)[]> {
  while (workers.length < jobs.length) workers.push(start());
  const settled = await Promise.allSettled(
    jobs.map(
      (job, i) =>
        new Promise<SearchTimings | undefined>((resolve, reject) => {
          const w = workers[i];
          const id = nextId++;
          w.pending.set(id, { resolve, reject });
          w.worker.ref();
          w.worker.postMessage({ id, job, timings });
        }),
    ),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return settled.map((r) => (r as PromiseFulfilledResult<SearchTimings | undefined>).value);
}

/** Search worker threads now running. */
export function searchWorkerCount(): number {
  return workers.length;
}

/** Stops every search worker thread (a later search starts new ones). */
export async function closeSearchWorkers(): Promise<void> {
  const all = workers.splice(0);
  await Promise.all(all.map((w) => w.worker.terminate()));
}
