import * as fs from 'node:fs';
import { UserError } from '../../util/errors';
import type { Command } from 'commander';
import { integerAtLeast, nonNegativeInt, numberWhere, oneOf } from '../options';
import { buildReport, buildReportFigures, isReportFolder } from '../../report/report';
import { CORRECTIONS, TEST_NAMES, type Correction, type TestName } from '../../report/significance';


export function registerReport(program: Command): void {
  program
    .command('report')
    .description("tables in the paper's shapes (Table 2, Tables 4/5), the spread over seeds and the paper's claims with paired tests, from result files alone")
    .option('--results <dir>', 'folder of result files (<id>.json)', 'results/runs')
    .option('--out <dir>', 'where report.md, report.json and the figures (HTML, and PNG where Chromium is installed) go', 'results/report')
    .option('--no-figures', 'write no figures (only report.md and report.json)')
    .option('--no-png', 'figures as HTML only, even where Chromium is installed')
    .option('--baseline <label>', "the row every other row of Table 2 is tested against (default: KD-only (a) distilled, else the base model, else BM25; 'none' for no marks)")
    .option('--test <name>', 'paired test over queries: t (paired t-test) or randomization (sign flips)', oneOf(...TEST_NAMES), 't' as TestName)
    .option('--correction <name>', 'multiple-testing correction: holm, bonferroni or none', oneOf(...CORRECTIONS), 'holm' as Correction)
    .option('--alpha <p>', 'significance level', numberWhere((n) => n > 0 && n < 1, 'a number between 0 and 1'), 0.05)
    .option('--permutations <n>', 'randomization test: random sign flips (exact enumeration when 2^queries is smaller)', integerAtLeast(100), 10000)
    .option('--seed <n>', 'randomization test: seed of the sign flips', nonNegativeInt, 0)
    .action(async (opts: { results: string; out: string; baseline?: string; test: TestName; correction: Correction; alpha: number; permutations: number; seed: number; figures: boolean; png: boolean }) => {
      // The report folder: new, empty, or a previous report (only the files it wrote are replaced; figures it
      // no longer draws are removed); checked before any work, written once the results are read and valid.
      if (fs.existsSync(opts.out) && !(fs.statSync(opts.out).isDirectory() && (isReportFolder(opts.out) || fs.readdirSync(opts.out).length === 0))) {
        throw new UserError(`--out ${opts.out}: exists and is not a previous report output; choose a new folder`);
      }
      const built = await buildReport(opts.results, opts.out, {
        baseline: opts.baseline === undefined ? undefined : opts.baseline === 'none' ? null : opts.baseline,
        test: opts.test,
        correction: opts.correction,
        alpha: opts.alpha,
        permutations: opts.permutations,
        seed: opts.seed,
      });
      const { report, files, png } = opts.figures ? await buildReportFigures(built, opts.out, { png: opts.png }) : { ...built, png: false };
      for (const p of report.presets) {
        const count = (v: string) => p.claims.filter((c) => c.verdict === v).length;
        const rows = p.main ? `${p.main.rows.length} main rows${p.main.baseline ? ` (baseline "${p.main.baseline}")` : ''}` : 'no main rows';
        const abl = p.ablation ? `, ${p.ablation.rows.length} ablation rows` : '';
        process.stdout.write(
          `preset ${p.preset}: ${p.results.length} results, ${rows}${abl}; claims: ${count('supports')} supported, ${count('contradicts')} contradicted, ${count('cannot resolve')} unresolved\n`,
        );
        for (const w of p.warnings) process.stdout.write(`  warning: ${w}\n`);
      }
      process.stdout.write(`wrote ${files.join(', ')}\n`);
      if (opts.figures && opts.png && !png && report.figures?.length) process.stdout.write('figures: HTML only (no Chromium found for PNG: install one or set CZ_CHROMIUM)\n');
    });
}
