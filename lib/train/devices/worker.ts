/**
 * A device replica in a worker thread: its own model copy and engine (ONNX Runtime sessions on its share of
 * the cores or its own GPU; or tfjs, whose wasm backend is single-threaded, so each core needs its own
 * worker), collectives over shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { TrainConfig } from '../config';
import { runReplica, probeGradient } from '../run';
import { SharedMemoryTransport, type SharedBuffers } from './shared-memory';

export interface WorkerInput {
  rank: number;
  world: number;
  buffers: SharedBuffers;
  config: TrainConfig;
  mode: 'train' | 'probe';
  resume: boolean;
  /** ONNX Runtime intra-op threads of this device (default: the cores shared among devices). */
  threads?: number;
}

async function main(): Promise<void> {
  const w = workerData as WorkerInput;
  const t = new SharedMemoryTransport(w.rank, w.world, w.buffers);
  const result = w.mode === 'train' ? await runReplica(w.config, t, { resume: w.resume, threads: w.threads }) : await probeGradient(w.config, t, { threads: w.threads });
  parentPort!.postMessage({ ok: true, result });
}

main().catch((e: Error) => {
  parentPort!.postMessage({ ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(e), stack: e?.stack });
});
