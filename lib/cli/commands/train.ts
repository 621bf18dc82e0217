import type { Command } from 'commander';
import * as path from 'node:path';
import { UserError } from '../../backend/errors';
import { loadTrainConfig } from '../../train/config';
import { train } from '../../train/run';
import { EXAMPLES, exampleConfig } from '../../train/examples';

function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} must be a positive integer, got "${value}"`);
  return n;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from one JSON run config (phases: unsupervised, supervised, distillation, mlm)')
    .option('--config <file>', 'run config (JSON)')
    .option('--devices <n>', 'data-parallel devices; overrides the config')
    .option('--transport <kind>', 'how devices talk: threads (shared memory) or processes (IPC, one per GPU); overrides the config')
    .option('--resume', 'continue from the last checkpoint in the output directory')
    .option('--example <name>', `print a small runnable config: ${EXAMPLES.join(', ')}`)
    .option('--data-dir <dir>', 'with --example: where its synthetic data and runs go', 'colbert-zero-example')
    .action(async (opts: { config?: string; devices?: string; transport?: string; resume?: boolean; example?: string; dataDir: string }) => {
      if (opts.example) {
        process.stdout.write(JSON.stringify(exampleConfig(opts.example, path.resolve(opts.dataDir)), null, 2) + '\n');
        return;
      }
      if (!opts.config) throw new UserError('give --config FILE (or --example NAME to print one)');
      const config = loadTrainConfig(opts.config);
      if (opts.transport !== undefined) {
        if (opts.transport !== 'threads' && opts.transport !== 'processes') throw new UserError(`--transport must be "threads" or "processes", got "${opts.transport}"`);
        config.deviceTransport = opts.transport;
      }
      const r = await train(config, { devices: positiveInt(opts.devices, '--devices'), resume: opts.resume });
      process.stdout.write(`trained ${r.steps - r.startStep} steps${r.startStep ? ` (resumed at ${r.startStep})` : ''}; final loss ${r.finalLoss.toFixed(5)}\n`);
      process.stdout.write(`model\t${r.modelDir}\nlog\t${path.join(r.output, 'log.jsonl')}\n`);
    });
}
