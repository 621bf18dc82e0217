/**
 * Where a run executes: in this thread for one device, else on `devices` worker threads (or processes),
 * each running lib/train/run.ts's `runReplica` over a transport that connects them.
 */
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';
import { LocalTransport } from './devices/transport';
import { trainOnDevices } from './devices/pool';
import { runReplica, type RunHooks, type RunSummary } from './run';

/**
 * Trains as the config says: in this thread for one device, else on `devices` worker threads.
 * `devices` overrides config.devices (the CLI's --devices).
 */
export async function train(config: TrainConfig, opts: { devices?: number; resume?: boolean; hooks?: RunHooks } = {}): Promise<RunSummary> {
  const devices = opts.devices ?? config.devices;
  if (config.batchSize % (devices * config.accumulationSteps) !== 0) {
    throw new UserError(`batchSize ${config.batchSize} cannot be split over ${devices} devices × ${config.accumulationSteps} accumulation steps`);
  }
  if (devices === 1) return runReplica(config, new LocalTransport(), { resume: opts.resume, hooks: opts.hooks });
  if (opts.hooks) throw new Error('hooks run in this thread only; use one device');
  return trainOnDevices({ ...config, devices }, devices, opts.resume ?? false, config.deviceTransport);
}
