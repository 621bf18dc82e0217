/**
 * Learning-rate sweeps as in the paper (Table 1: 10 values log-spaced in a range per phase, best by
 * NanoBEIR): one run per learning rate, each in its own output folder, scored by the config's `eval`.
 */
import * as path from 'node:path';
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';
import { logSpaced, sweepLearningRates, type SweepResult } from './optim';
import { train } from './launch';

export interface RunSweepOptions {
  lo: number;
  hi: number;
  k: number;
  /** Key of the evaluation's mean to maximise (e.g. "ndcg_cut_10"). */
  metric: string;
  devices?: number;
  engine?: string;
  threads?: number;
}

export async function sweepRuns(config: TrainConfig, o: RunSweepOptions): Promise<SweepResult & { outputs: Record<string, string> }> {
  if (!config.eval) throw new UserError('a learning-rate sweep needs "eval" in the config to score each run');
  const outputs: Record<string, string> = {};
  const r = await sweepLearningRates(logSpaced(o.lo, o.hi, o.k), async (lr) => {
    const output = path.join(config.output, `lr-${lr.toExponential(2)}`);
    outputs[String(lr)] = output;
    try {
      const s = await train({ ...config, optimizer: { ...config.optimizer, lr }, output }, { devices: o.devices, engine: o.engine, threads: o.threads });
      const mean = s.lastEval!.mean;
      if (!(o.metric in mean)) throw new UserError(`metric "${o.metric}" is not in the evaluation (has ${Object.keys(mean).join(', ')})`);
      return mean[o.metric];
    } catch (e) {
      if (e instanceof UserError && /non-finite loss/.test(e.message)) return NaN; // a diverged run loses
      throw e;
    }
  });
  return { ...r, outputs };
}
