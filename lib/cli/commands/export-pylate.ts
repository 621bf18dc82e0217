/** `colbert-zero export-pylate`: a pipeline's phases as PyLate / sentence-transformers scripts and torchrun commands. */
import { InvalidArgumentError, type Command } from 'commander';
import { exportPylate, parseAblation } from '../../pipelines/export-pylate';
import { checkAblation, type PipelineName } from '../../pipelines/plan';
import type { FactChoices } from '../../pipelines/presets';
import { oneOf, positiveInt } from '../options';

export function registerExportPylate(program: Command): void {
  program
    .command('export-pylate')
    .description("write a pipeline's phases as PyLate / sentence-transformers training scripts with their torchrun launch commands, for PyTorch's distributed engine (Table 1's scale by default)")
    .requiredOption('--pipeline <name>', 'a (KD-only), b (supervised + KD) or c (ColBERT-Zero)', oneOf('a', 'b', 'c'))
    .option('--ablation <uP-pPlL-pPlL>', "the pipeline's prompt / +Length switches (0/1), a row of Table 4: unsupervised prompts; supervised prompts, +Length; KD prompts, +Length (main setting: u1-p1l1-p1l1; pipeline a varies KD's only, u1-p1l1-pPlL; b keeps u1)", (v) => {
      try {
        return parseAblation(v);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    })
    .option('--preset <name>', 'the scale of the scripts: paper (Table 1), demo, study or smoke', oneOf('paper', 'demo', 'study', 'smoke'), 'paper')
    .option('--devices-per-node <n>', 'GPUs per node (the paper: 4); every global batch must split over nodes × GPUs', positiveInt, 4)
    .option('--unsupervised-temperature <which>', "paper (Table 1: 0.2) or script (PyLate's released script: 0.02)", oneOf('paper', 'script'), 'paper')
    .option('--prompt-length <which>', 'tokens "+Length" adds: paper (7) or tokenizer (4)', oneOf('paper', 'tokenizer'), 'paper')
    .option('--expansion-tokens <which>', "ColBERT queries' unattended [MASK] expansion tokens: zeroed (the paper's: Flash Attention, needs flash-attn and a CUDA GPU) or scored (eager attention, ColBERT's query expansion)", oneOf('zeroed', 'scored'), 'zeroed')
    .option('--out <dir>', 'output folder (new or empty, or a previous export with --overwrite)', 'pylate-export')
    .option('--overwrite', "replace a previous export in --out (only the files it wrote; yours are kept)")
    .option('--learning-rates <which>', "the paper preset's learning rates: script (PyLate's released scripts: 3e-4, 8e-6, 4e-6) or sweep-middle (the geometric middle of Table 1's sweep range per phase)", oneOf('script', 'sweep-middle'), 'script')
    .action(async (opts: { pipeline: PipelineName; ablation?: ReturnType<typeof parseAblation>; preset: string; devicesPerNode: number; unsupervisedTemperature: FactChoices['unsupervisedTemperature']; promptLength: FactChoices['promptLength']; learningRates: NonNullable<FactChoices['learningRates']>; expansionTokens: 'zeroed' | 'scored'; out: string; overwrite?: boolean }, cmd: Command) => {
      try {
        if (opts.ablation) checkAblation({ pipeline: opts.pipeline, ablation: opts.ablation });
      } catch (e) {
        cmd.error(`error: --ablation: ${(e as Error).message}`, { exitCode: 2 });
      }
      const r = await exportPylate({
        pipeline: opts.pipeline,
        ablation: opts.ablation,
        preset: opts.preset,
        devicesPerNode: opts.devicesPerNode,
        facts: { unsupervisedTemperature: opts.unsupervisedTemperature, promptLength: opts.promptLength, learningRates: opts.learningRates },
        expansionTokens: opts.expansionTokens,
        out: opts.out,
        overwrite: opts.overwrite,
      });
      for (const p of r.manifest.phases) process.stderr.write(`  ${p.file.padEnd(40)} ${p.objective.padEnd(12)} ${p.setting.padEnd(7)} ${p.nodes}×${p.devicesPerNode} GPU(s), ${p.perDeviceBatch} per device\n`);
      process.stderr.write(`wrote ${r.files.length} files to ${opts.out} (run: DATA=... ${opts.out}/launch.sh; see ${opts.out}/README.md)\n`);
    });
}
