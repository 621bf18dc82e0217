import { InvalidArgumentError, type Command } from 'commander';
import { engineName, oneOf, positiveInt } from '../options';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EvalRecord } from '../../train/run';
import { loadTrainConfig } from '../../train/config';
import { train } from '../../train/launch';
import { EXAMPLES, exampleConfig } from '../../train/examples';
import { sweepRuns } from '../../train/sweep';

const transport = oneOf('threads', 'processes');

/** "LO:HI:K" → k learning rates log-spaced in [LO, HI]. */
function sweepSpec(value: string): { lo: number; hi: number; k: number } {
  const [lo, hi, k] = value.split(':').map(Number);
  if (!(lo > 0 && hi > lo && Number.isInteger(k) && k >= 1)) throw new InvalidArgumentError('must be LO:HI:K with 0 < LO < HI and K ≥ 1, e.g. 1e-5:3e-3:10');
  return { lo, hi, k };
}

/** The run's evaluations (eval.jsonl, resumed runs included): the numbers that matter, one line per eval step. */
function printEvaluations(file: string): void {
  if (!fs.existsSync(file)) return;
  const records = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as EvalRecord);
  if (!records.length) return;
  const show = (m: Record<string, number>) => Object.entries(m).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('\t');
  for (const e of records) process.stdout.write(`eval step ${e.step}\t${show(e.mean)}\n`);
  const last = records[records.length - 1];
  process.stdout.write(`final (step ${last.step})\t${show(last.mean)}\n`);
  if (last.datasets.length > 1) for (const d of last.datasets) process.stdout.write(`  ${d.name}\t${show(d.metrics)}\n`);
  process.stdout.write(`eval log\t${file}\n`);
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model from one JSON run config (phases: unsupervised, supervised, distillation, mlm)')
    .option('--config <file>', 'run config (JSON) (required unless --example)')
    .option('--devices <n>', 'data-parallel devices; overrides the config (a warning above the cores, refused when the memory estimate does not fit)', positiveInt)
    .option('--engine <name>', 'ort (ONNX Runtime: every core, or CUDA with CZ_ORT_PROVIDER=cuda) or tfjs (the reference); default: the config\'s "engine", else CZ_ENGINE, else ort where onnxruntime-node loads', engineName)
    .option('--threads <n>', "ONNX Runtime's threads per device (default: the cores shared among devices, or CZ_THREADS)", positiveInt)
    .option('--transport <kind>', 'how devices talk: threads (shared memory) or processes (IPC, one per GPU); overrides the config', transport)
    .option('--resume', 'continue from the last checkpoint in the output directory (when there is none it says so on stderr and starts at step 0)')
    .option('--sweep <lo:hi:k>', 'learning-rate sweep: K runs, rates log-spaced in [LO, HI], best by --metrics of the config\'s eval', sweepSpec)
    .option('--metrics <key>', 'with --sweep: the evaluation mean to maximise (one key of the config\'s eval)', 'ndcg_cut_10')
    .option('--example <name>', `print a small runnable config: ${EXAMPLES.join(', ')}`)
    .option('--data-dir <dir>', 'with --example: where its synthetic data and runs go', 'colbert-zero-example')
    .action(async (opts: { config?: string; engine?: string; threads?: number; devices?: number; transport?: 'threads' | 'processes'; resume?: boolean; sweep?: { lo: number; hi: number; k: number }; metrics: string; example?: string; dataDir: string }, cmd: Command) => {
      if (opts.example) {
        process.stdout.write(JSON.stringify(exampleConfig(opts.example, path.resolve(opts.dataDir)), null, 2) + '\n');
        return;
      }
      if (!opts.config) cmd.error('error: give --config FILE (or --example NAME to print one)', { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
      const config = loadTrainConfig(opts.config!);
      if (opts.transport) config.deviceTransport = opts.transport;
      if (opts.sweep) {
        const r = await sweepRuns(config, { ...opts.sweep, metric: opts.metrics, devices: opts.devices, engine: opts.engine, threads: opts.threads });
        for (const x of r.results) process.stdout.write(`lr ${x.lr.toExponential(3)}\t${opts.metrics} ${x.score}\t${r.outputs[String(x.lr)]}\n`);
        process.stdout.write(`best lr ${r.best.lr.toExponential(3)} (${opts.metrics} ${r.best.score})\n`);
        return;
      }
      const r = await train(config, { devices: opts.devices, resume: opts.resume, engine: opts.engine, threads: opts.threads });
      process.stdout.write(`trained ${r.steps - r.startStep} steps${r.startStep ? ` (resumed at ${r.startStep})` : ''} on ${r.engine}; final loss ${r.finalLoss.toFixed(5)}\n`);
      process.stdout.write(`model\t${r.modelDir}\nlog\t${path.join(r.output, 'log.jsonl')}\n`);
      printEvaluations(path.join(r.output, 'eval.jsonl'));
    });
}
