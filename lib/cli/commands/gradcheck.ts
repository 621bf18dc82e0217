import type { Command } from 'commander';
import { loadTrainConfig } from '../../train/config';
import { gradcheck } from '../../train/gradcheck';
import { positiveInt, positiveNumber } from '../options';

export function registerGradcheck(program: Command): void {
  program
    .command('gradcheck')
    .description("compare a run config's first-step gradient: GradCache vs one graph, N devices vs one")
    .requiredOption('--config <file>', 'run config (JSON)')
    .option('--devices <n>', 'devices to compare with one device', positiveInt, 1)
    .option('--tolerance <x>', 'largest acceptable normwise relative error', positiveNumber, 1e-5)
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; devices: number; tolerance: number; json?: boolean }) => {
      const tol = opts.tolerance;
      const r = await gradcheck(loadTrainConfig(opts.config), opts.devices);
      const ok = r.gradCacheVsPlain <= tol && (r.devicesVsOne === undefined || r.devicesVsOne <= tol);
      if (opts.json) process.stdout.write(JSON.stringify({ ...r, tolerance: tol, ok }) + '\n');
      else {
        process.stdout.write(`parameters\t${r.parameters}\n`);
        process.stdout.write(`gradcache vs plain\t${r.gradCacheVsPlain.toExponential(3)}\t(loss ${r.loss.gradCache} vs ${r.loss.plain})\n`);
        if (r.devicesVsOne !== undefined) process.stdout.write(`${opts.devices} devices vs 1\t${r.devicesVsOne.toExponential(3)}\t(loss ${r.loss.devices} vs ${r.loss.gradCache})\n`);
        process.stdout.write(ok ? `ok (tolerance ${tol})\n` : `FAILED: above tolerance ${tol}\n`);
      }
      if (!ok) process.exitCode = 1;
    });
}
