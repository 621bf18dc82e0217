import { InvalidArgumentError, type Command } from 'commander';
import * as path from 'node:path';
import { loadTrainConfig } from '../../train/config';
import { train } from '../../train/launch';
import { EXAMPLES, exampleConfig } from '../../train/examples';
import { sweepRuns } from '../../train/sweep';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

function transport(value: string): 'threads' | 'processes' {
  if (value !== 'threads' && value !== 'processes') throw new InvalidArgumentError('must be "threads" or "processes"');
  return value;
}

/** "LO:HI:K" → k learning rates log-spaced in [LO, HI]. */
function sweepSpec(value: string): { lo: number; hi: number; k: number } {
  const [lo, hi, k] = value.split(':').map(Number);
  if (!(lo > 0 && hi > lo && Number.isInteger(k) && k >= 1)) throw new InvalidArgumentError('must be LO:HI:K with 0 < LO < HI and K ≥ 1, e.g. 1e-5:3e-3:10');
  return { lo, hi, k };
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from one JSON run config (phases: unsupervised, supervised, distillation, mlm)')
    .option('--config <file>', 'run config (JSON)')
    .option('--devices <n>', 'data-parallel devices; overrides the config', positiveInt)
    .option('--transport <kind>', 'how devices talk: threads (shared memory) or processes (IPC, one per GPU); overrides the config', transport)
    .option('--resume', 'continue from the last checkpoint in the output directory')
    .option('--sweep <lo:hi:k>', 'learning-rate sweep: K runs, rates log-spaced in [LO, HI], best by --metric of the config\'s eval', sweepSpec)
    .option('--metric <key>', 'with --sweep: evaluation mean to maximise', 'ndcg_cut_10')
    .option('--example <name>', `print a small runnable config: ${EXAMPLES.join(', ')}`)
    .option('--data-dir <dir>', 'with --example: where its synthetic data and runs go', 'colbert-zero-example')
    .action(async (opts: { config?: string; devices?: number; transport?: 'threads' | 'processes'; resume?: boolean; sweep?: { lo: number; hi: number; k: number }; metric: string; example?: string; dataDir: string }, cmd: Command) => {
      if (opts.example) {
        process.stdout.write(JSON.stringify(exampleConfig(opts.example, path.resolve(opts.dataDir)), null, 2) + '\n');
        return;
      }
      if (!opts.config) cmd.error('error: give --config FILE (or --example NAME to print one)', { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
      const config = loadTrainConfig(opts.config!);
      if (opts.transport) config.deviceTransport = opts.transport;
      if (opts.sweep) {
        const r = await sweepRuns(config, { ...opts.sweep, metric: opts.metric, devices: opts.devices });
        for (const x of r.results) process.stdout.write(`lr ${x.lr.toExponential(3)}\t${opts.metric} ${x.score}\t${r.outputs[String(x.lr)]}\n`);
        process.stdout.write(`best lr ${r.best.lr.toExponential(3)} (${opts.metric} ${r.best.score})\n`);
        return;
      }
      const r = await train(config, { devices: opts.devices, resume: opts.resume });
      process.stdout.write(`trained ${r.steps - r.startStep} steps${r.startStep ? ` (resumed at ${r.startStep})` : ''}; final loss ${r.finalLoss.toFixed(5)}\n`);
      process.stdout.write(`model\t${r.modelDir}\nlog\t${path.join(r.output, 'log.jsonl')}\n`);
    });
}
