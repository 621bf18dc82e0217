/**
 * Checks that an engine computes the gradient it should, on the first batch of a run config: its step
 * (GradCache where the config's mini-batch is below the batch) against the plain one-graph gradient on
 * tfjs (the reference), and N devices against one on the same engine.
 */
import type { TrainConfig } from './config';
import { probeGradient } from './run';
import { chooseEngine } from './engine';
import type { Engine } from '../backend/engine';

import { maxAbsDifference, relativeError } from '../util/numeric';

export interface GradcheckReport {
  /** The engine checked (the reference is always tfjs's one-graph gradient). */
  engine: Engine;
  parameters: number;
  loss: { plain: number; gradCache: number; devices?: number };
  /** GradCache (1 device) vs the one-graph gradient. */
  gradCacheVsPlain: number;
  devices: number;
  /** N devices vs 1 device (GradCache both), when devices > 1. */
  devicesVsOne?: number;
  /** The same comparisons as max|a−b| over every gradient entry, beside the largest |entry| of the plain gradient. */
  maxAbsDiff: { gradCacheVsPlain: number; devicesVsPlain?: number; devicesVsOne?: number };
  maxAbsGradient: number;
}

export async function gradcheck(config: TrainConfig, devices: number, opts: { engine?: string } = {}): Promise<GradcheckReport> {
  const engine = chooseEngine(config, opts.engine ?? config.engine);
  const plain = await probeGradient(config, undefined, { plain: true });
  const cached = await probeGradient(config, undefined, { engine });
  const report: GradcheckReport = {
    engine,
    parameters: plain.gradient.length,
    loss: { plain: plain.loss, gradCache: cached.loss },
    gradCacheVsPlain: relativeError(cached.gradient, plain.gradient),
    devices,
    maxAbsDiff: { gradCacheVsPlain: maxAbsDifference(cached.gradient, plain.gradient) },
    maxAbsGradient: maxAbsDifference(plain.gradient, new Float32Array(plain.gradient.length)),
  };
  if (devices > 1) {
    const { probeOnDevices } = require('./devices/pool') as typeof import('./devices/pool');
    const multi = await probeOnDevices({ ...config, devices, engine }, devices, config.deviceTransport);
    report.loss.devices = multi.loss;
    report.devicesVsOne = relativeError(multi.gradient, cached.gradient);
    report.maxAbsDiff.devicesVsOne = maxAbsDifference(multi.gradient, cached.gradient);
    report.maxAbsDiff.devicesVsPlain = maxAbsDifference(multi.gradient, plain.gradient);
  }
  return report;
}
