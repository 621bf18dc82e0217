import type { Command } from 'commander';
import { loadTrainConfig } from '../../train/config';
import { gradcheck } from '../../train/gradcheck';
import { engineName, positiveInt, positiveNumber } from '../options';

export function registerGradcheck(program: Command): void {
  program
    .command('gradcheck')
    .description("compare a run config's first-step gradient: the engine's step (GradCache where the mini-batch is smaller) vs tfjs's one graph, N devices vs one")
    .requiredOption('--config <file>', 'run config (JSON)')
    .option('--devices <n>', 'devices to compare with one device', positiveInt, 1)
    .option('--tolerance <x>', 'largest acceptable normwise relative error', positiveNumber, 1e-5)
    .option('--engine <name>', "the engine checked: ort or tfjs (default: the config's, else CZ_ENGINE, else ort where it loads); the reference is tfjs's one-graph gradient", engineName)
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; devices: number; tolerance: number; json?: boolean; engine?: string }) => {
      const tol = opts.tolerance;
      const r = await gradcheck(loadTrainConfig(opts.config), opts.devices, { engine: opts.engine });
      const ok = r.gradCacheVsPlain <= tol && (r.devicesVsOne === undefined || r.devicesVsOne <= tol);
      if (opts.json) process.stdout.write(JSON.stringify({ ...r, tolerance: tol, ok }) + '\n');
      else {
        process.stdout.write(`engine\t${r.engine}\nparameters\t${r.parameters}\n`);
        process.stdout.write(`${r.engine} step vs tfjs one graph\t${r.gradCacheVsPlain.toExponential(3)}\t(loss ${r.loss.gradCache} vs ${r.loss.plain})\n`);
        if (r.devicesVsOne !== undefined) process.stdout.write(`${opts.devices} devices vs 1\t${r.devicesVsOne.toExponential(3)}\t(loss ${r.loss.devices} vs ${r.loss.gradCache})\n`);
        process.stdout.write(ok ? `ok (tolerance ${tol})\n` : `FAILED: above tolerance ${tol}\n`);
      }
      if (!ok) process.exitCode = 1;
    });
}
