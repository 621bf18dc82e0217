/** A device replica in its own process (see ipc.ts): waits for its start message, runs, reports. */
import type { TrainConfig } from '../config';
import { runReplica, probeGradient } from '../run';
import { IpcTransport, type ToChild, type ToParent } from './ipc';

interface ProcessInput {
  rank: number;
  world: number;
  config: TrainConfig;
  mode: 'train' | 'probe';
  resume: boolean;
  threads?: number;
}

process.once('message', (m: ToChild) => {
  if (m.type !== 'start') return;
  const w = m.input as ProcessInput;
  const t = new IpcTransport(w.rank, w.world);
  const run = w.mode === 'train' ? runReplica(w.config, t, { resume: w.resume, threads: w.threads }) : probeGradient(w.config, t, { threads: w.threads });
  run.then(
    (result) => process.send!({ type: 'done', result } satisfies ToParent, () => process.exit(0)),
    (e: Error) => process.send!({ type: 'error', name: e?.name ?? 'Error', message: e?.message ?? String(e) } satisfies ToParent, () => process.exit(0)),
  );
});
