/**
 * Data-parallel training on N devices, each a full replica:
 *   threads    N worker threads on this machine, collectives over shared memory (shared-memory.ts); on
 *              the ort engine each gets cores / N intra-op threads (or GPU `rank` with CZ_ORT_PROVIDER=cuda),
 *              on tfjs one wasm thread each;
 *   processes  N child processes, collectives relayed by this process over IPC (ipc.ts) — the layout for
 *              one process per GPU: on ort each opens its session on GPU `rank` (CZ_ORT_PROVIDER=cuda); with
 *              tfjs and CZ_BACKEND=node-gpu each process sees only GPU `rank` (CUDA_VISIBLE_DEVICES).
 * This process only starts, relays and watches. When a device throws or exits, the others are told to
 * stop (no one waits forever in a collective) and the run ends with one error naming the device. Rank 0
 * writes checkpoints atomically, so the last complete checkpoint stays usable.
 */
import * as path from 'node:path';
import { fork } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../util/errors';
import type { TrainConfig } from '../config';
import type { ProbeResult, RunSummary } from '../run';
import { abortShared, allocateShared } from './shared-memory';
import type { ToChild, ToParent } from './ipc';
import type { WorkerInput } from './worker';

export type DeviceTransport = 'threads' | 'processes';

/**
 * Young-generation size of each worker thread. A training step allocates many short-lived typed arrays;
 * with V8's default (small) young generation the frequent scavenges of two busy workers compete for the
 * same GC helper threads, and a half-batch step ran ~30% slower than in a worker alone.
 */
const WORKER_YOUNG_GENERATION_MB = 128;

/** Slot size: 4M floats (16 MB) per device; larger arrays go in pieces. */
const SLOT_FLOATS = 1 << 22;
const PEER_FAILED = 'another device failed; stopping this one';

/** Rank 0 shows the progress bar when this process would (a device's stderr is never a terminal itself). */
function progressFor(rank: number): string {
  if (rank !== 0) return '0';
  return process.env.CZ_PROGRESS ?? (process.stderr.isTTY ? '1' : '0');
}

interface Failure {
  rank: number;
  name: string;
  message: string;
}

/** Collects results and the first real failure; `abort` tells the surviving devices to stop. */
function supervisor<T>(devices: number, abort: () => void, resolve: (r: T) => void, reject: (e: Error) => void) {
  const results: T[] = [];
  let finished = 0;
  let failure: Failure | null = null;
  return {
    ok(rank: number, r: T) {
      results[rank] = r;
    },
    fail(f: Failure) {
      // "another device failed" is only a consequence; the first real failure is the one to report.
      const peer = f.message === PEER_FAILED;
      if (!failure || (failure.message === PEER_FAILED && !peer)) failure = f;
      abort();
    },
    exited() {
      if (++finished < devices) return;
      if (!failure) return resolve(results[0]);
      const f = failure as Failure;
      reject(new UserError(f.name === 'UserError' || f.name === 'NonFiniteLossError' ? f.message : `device ${f.rank} failed: ${f.message}`));
    },
  };
}

function launchThreads<T>(config: TrainConfig, devices: number, mode: WorkerInput['mode'], resume: boolean, threads?: number): Promise<T> {
  const buffers = allocateShared(devices, SLOT_FLOATS);
  const bootstrap = path.join(__dirname, 'worker-bootstrap.cjs');
  return new Promise<T>((resolve, reject) => {
    const sup = supervisor<T>(devices, () => abortShared(buffers), resolve, reject);
    for (let rank = 0; rank < devices; rank++) {
      const input: WorkerInput = { rank, world: devices, buffers, config, mode, resume, threads };
      const w = new Worker(bootstrap, {
        workerData: input,
        env: { ...process.env, CZ_PROGRESS: progressFor(rank) },
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
      });
      let reported = false;
      w.on('message', (m: { ok: boolean; result?: T; name?: string; message?: string }) => {
        reported = true;
        if (m.ok) sup.ok(rank, m.result as T);
        else sup.fail({ rank, name: m.name!, message: m.message! });
      });
      w.on('error', (e) => {
        reported = true;
        sup.fail({ rank, name: e.name, message: e.message });
      });
      w.on('exit', (code) => {
        if (!reported) sup.fail({ rank, name: 'Exit', message: `worker exited with code ${code} before finishing` });
        sup.exited();
      });
    }
  });
}

function launchProcesses<T>(config: TrainConfig, devices: number, mode: WorkerInput['mode'], resume: boolean, threads?: number): Promise<T> {
  const bootstrap = path.join(__dirname, 'process-worker-bootstrap.cjs');
  return new Promise<T>((resolve, reject) => {
    const children: ReturnType<typeof fork>[] = [];
    const alive = new Set<number>();
    const pending = new Map<number, { parts: Float32Array[]; count: number }>();
    const send = (rank: number, m: ToChild) => {
      if (alive.has(rank)) children[rank].send(m);
    };
    const sup = supervisor<T>(devices, () => alive.forEach((r) => send(r, { type: 'abort' })), resolve, reject);
    for (let rank = 0; rank < devices; rank++) {
      const env: NodeJS.ProcessEnv = { ...process.env, CZ_PROGRESS: progressFor(rank), CZ_DEVICE_RANK: String(rank) };
      if (process.env.CZ_BACKEND === 'node-gpu') env.CUDA_VISIBLE_DEVICES = String(rank);
      const child = fork(bootstrap, [], { serialization: 'advanced', env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      children.push(child);
      alive.add(rank);
      let reported = false;
      child.on('message', (m: ToParent) => {
        if (m.type === 'gather') {
          const p = pending.get(m.seq) ?? { parts: new Array<Float32Array>(devices), count: 0 };
          p.parts[rank] = m.data;
          pending.set(m.seq, p);
          if (++p.count === devices) {
            pending.delete(m.seq);
            for (let r = 0; r < devices; r++) send(r, { type: 'gathered', seq: m.seq, parts: p.parts });
          }
        } else if (m.type === 'done') {
          reported = true;
          sup.ok(rank, m.result as T);
        } else {
          reported = true;
          sup.fail({ rank, name: m.name, message: m.message });
        }
      });
      child.on('exit', (code, signal) => {
        alive.delete(rank);
        if (!reported) sup.fail({ rank, name: 'Exit', message: `process exited with ${signal ? `signal ${signal}` : `code ${code}`} before finishing` });
        sup.exited();
      });
      child.send({ type: 'start', input: { rank, world: devices, config, mode, resume, threads } } satisfies ToChild);
    }
  });
}

function launch<T>(config: TrainConfig, devices: number, mode: WorkerInput['mode'], resume: boolean, transport: DeviceTransport, threads?: number): Promise<T> {
  return transport === 'processes' ? launchProcesses<T>(config, devices, mode, resume, threads) : launchThreads<T>(config, devices, mode, resume, threads);
}

/** Trains on `devices` replicas; the engine is config.engine (chosen by the caller), `threads` ONNX Runtime's per device. */
export function trainOnDevices(config: TrainConfig, devices: number, resume = false, transport: DeviceTransport = 'threads', threads?: number): Promise<RunSummary> {
  return launch<RunSummary>(config, devices, 'train', resume, transport, threads);
}

export function probeOnDevices(config: TrainConfig, devices: number, transport: DeviceTransport = 'threads', threads?: number): Promise<ProbeResult> {
  return launch<ProbeResult>(config, devices, 'probe', false, transport, threads);
}
