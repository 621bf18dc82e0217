/**
 * Data-parallel training on N devices = N worker threads on this machine, each a full replica. The main
 * thread only starts them, watches them and reports: when one throws or exits, the abort flag stops the
 * others (no one waits forever at a barrier) and the run ends with one error naming the device. Rank 0
 * writes checkpoints atomically, so whatever was the last complete checkpoint stays usable.
 *
 * A process-per-GPU transport (tfjs-node-gpu, IPC instead of shared memory) would implement the same
 * Transport interface; it is not built here.
 */
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { UserError } from '../../backend/errors';
import type { TrainConfig } from '../config';
import type { ProbeResult, RunSummary } from '../run';
import { abortShared, allocateShared } from './shared-memory';
import type { WorkerInput } from './worker';

/** Slot size: 4M floats (16 MB) per device; larger arrays go in pieces. */
const SLOT_FLOATS = 1 << 22;

interface Failure {
  rank: number;
  name: string;
  message: string;
}

function launch<T>(config: TrainConfig, devices: number, mode: WorkerInput['mode'], resume: boolean): Promise<T> {
  const buffers = allocateShared(devices, SLOT_FLOATS);
  const bootstrap = path.join(__dirname, 'worker-bootstrap.cjs');
  return new Promise<T>((resolve, reject) => {
    const results: T[] = [];
    let finished = 0;
    let failure: Failure | null = null;
    const workers: Worker[] = [];
    const fail = (f: Failure) => {
      // The first real failure wins; "another device failed" from the others is only a consequence.
      if (!failure || (failure.name === 'PeerFailed' && f.name !== 'PeerFailed')) failure = f;
      abortShared(buffers);
    };
    const settle = () => {
      if (++finished < devices) return;
      if (failure) {
        const f = failure as Failure;
        const msg = f.name === 'UserError' || f.name === 'NonFiniteLossError' ? f.message : `device ${f.rank} failed: ${f.message}`;
        reject(new UserError(msg));
      } else resolve(results[0]);
    };
    for (let rank = 0; rank < devices; rank++) {
      const input: WorkerInput = { rank, world: devices, buffers, config, mode, resume };
      const w = new Worker(bootstrap, { workerData: input, env: { ...process.env, CZ_PROGRESS: rank === 0 ? process.env.CZ_PROGRESS : '0' } });
      workers.push(w);
      let reported = false;
      w.on('message', (m: { ok: boolean; result?: T; name?: string; message?: string }) => {
        reported = true;
        if (m.ok) results[rank] = m.result as T;
        else fail({ rank, name: m.message === 'another device failed; stopping this one' ? 'PeerFailed' : m.name!, message: m.message! });
      });
      w.on('error', (e) => {
        reported = true;
        fail({ rank, name: e.name, message: e.message });
      });
      w.on('exit', (code) => {
        if (!reported) fail({ rank, name: 'Exit', message: `worker exited with code ${code} before finishing` });
        settle();
      });
    }
  });
}

export function trainOnDevices(config: TrainConfig, devices: number, resume = false): Promise<RunSummary> {
  return launch<RunSummary>(config, devices, 'train', resume);
}

export function probeOnDevices(config: TrainConfig, devices: number): Promise<ProbeResult> {
  return launch<ProbeResult>(config, devices, 'probe', false);
}
