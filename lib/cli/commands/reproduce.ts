/** `colbert-zero reproduce`: the main job, a preset of the paper's pipelines end to end. */
import type { Command } from 'commander';
import { engineName, nonNegativeIntList, oneOf } from '../options';
import { initBackend } from '../../backend/select';
import { reproduce } from '../../pipelines/reproduce';
import { PRESETS, type FactChoices } from '../../pipelines/presets';

export function registerReproduce(program: Command): void {
  program
    .command('reproduce')
    .description("the main job: a preset of the paper's pipelines (a) KD-only, (b) supervised + KD, (c) ColBERT-Zero end to end — data, training (each phase once, resumable), evaluation beside the untrained base, the report — under --results")
    .option('--preset <name>', `${Object.values(PRESETS).map((p) => `${p.name}: ${p.description}`).join('; ')}`, oneOf(...(Object.keys(PRESETS) as Array<keyof typeof PRESETS>)), 'demo')
    .option('--results <dir>', 'where data/, models/, runs/ and report/ go', 'results')
    .option('--dry-run', 'validate and print the plan and what a run would write; write nothing, train nothing')
    .option('--seeds <list>', "comma-separated seeds instead of the preset's (e.g. 0,1,2: the report adds the spread over seeds)", nonNegativeIntList)
    .option('--unsupervised-temperature <which>', "paper (Table 1: 0.2) or script (PyLate's released script: 0.02)", oneOf('paper', 'script'), 'paper')
    .option('--backbone <preset>', "the backbone's architecture instead of the preset's: tiny (2 layers, hidden 64), small (4 layers, hidden 256) or base (ModernBERT-base's); give it its own --results (result files are named by preset)", oneOf('tiny', 'small', 'base'))
    .option('--engine <name>', 'training engine: ort (ONNX Runtime, every core) or tfjs; default: CZ_ENGINE, else ort where onnxruntime-node loads', engineName)
    .option('--prompt-length <which>', 'tokens "+Length" adds: paper (7, as the text says) or tokenizer (4, what the ModernBERT tokenizer gives)', oneOf('paper', 'tokenizer'), 'paper')
    .option('--learning-rates <which>', "the paper preset's learning rates: script (PyLate's released scripts: 3e-4, 8e-6, 4e-6) or sweep-middle (the geometric middle of Table 1's sweep range per phase)", oneOf('script', 'sweep-middle'), 'script')
    .action(async (opts: { preset: string; results: string; dryRun?: boolean; seeds?: number[]; engine?: string; backbone?: string; unsupervisedTemperature: FactChoices['unsupervisedTemperature']; promptLength: FactChoices['promptLength']; learningRates: NonNullable<FactChoices['learningRates']> }) => {
      await initBackend();
      const r = await reproduce({
        preset: opts.preset,
        resultsDir: opts.results,
        dryRun: opts.dryRun,
        seeds: opts.seeds,
        facts: { unsupervisedTemperature: opts.unsupervisedTemperature, promptLength: opts.promptLength, learningRates: opts.learningRates },
        engine: opts.engine,
        backbone: opts.backbone,
        holdClosing: true,
      });
      // The report on stdout (`reproduce > report.md` keeps it), then where it is and the verdict, last on a terminal.
      if (r.report) {
        process.stdout.write(r.report.markdown);
        process.stderr.write(r.report.closing.map((l) => l + '\n').join(''));
      }
    });
}
