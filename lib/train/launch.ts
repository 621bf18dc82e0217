/**
 * Where a run executes: in this thread for one device, else on `devices` worker threads (or processes),
 * each running lib/train/run.ts's `runReplica` over a transport that connects them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { checkOutputFolder, hasMarker } from '../util/output';
import { planParallelism } from '../util/limits';
import { trainDeviceEstimate } from './device-memory';
import type { TrainConfig } from './config';
import { LocalTransport } from './devices/transport';
import { trainOnDevices } from './devices/pool';
import { runReplica, type RunHooks, type RunSummary } from './run';
import { chooseEngine } from './engine';

/** A previous run's folder: our marker, or (runs from before the marker) its config and log. */
function isTrainOutput(dir: string): boolean {
  return hasMarker(dir, 'train') || (fs.existsSync(path.join(dir, 'config.json')) && fs.existsSync(path.join(dir, 'log.jsonl')));
}

/**
 * Trains as the config says: in this thread for one device, else on `devices` worker threads.
 * `devices` overrides config.devices (the CLI's --devices).
 */
export async function train(config: TrainConfig, opts: { devices?: number; resume?: boolean; hooks?: RunHooks; engine?: string; threads?: number } = {}): Promise<RunSummary> {
  const devices = opts.devices ?? config.devices;
  // The engine is chosen once, here, and travels in the config to every device.
  config = { ...config, engine: chooseEngine(config, opts.engine ?? config.engine) };
  // Before any work: a foreign folder is refused, an unwritable path fails at once (one line).
  checkOutputFolder(config.output, { command: 'train', isOurs: isTrainOutput });
  if (config.batchSize % (devices * config.accumulationSteps) !== 0) {
    throw new UserError(`batchSize ${config.batchSize} cannot be split over ${devices} devices × ${config.accumulationSteps} accumulation steps`);
  }
  // More devices than cores only share them; more than memory holds would bring the machine down.
  if (devices > 1) planParallelism({ what: '--devices', requested: devices, fixed: true, perWorkerBytes: trainDeviceEstimate(config, devices) });
  if (devices === 1) return runReplica(config, new LocalTransport(), { resume: opts.resume, hooks: opts.hooks, threads: opts.threads });
  if (opts.hooks) throw new Error('hooks run in this thread only; use one device');
  return trainOnDevices({ ...config, devices }, devices, opts.resume ?? false, config.deviceTransport, opts.threads);
}
