import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { readCorpus } from '../../data/beir';
import { addEngineOptions, openModel } from './engine-options';
import { encodeParallel } from '../../models/parallel-encode';
import type { Encoded } from '../../scores/encoded';
import type { Role } from '../../tokenize/types';
import { writeSafetensors } from '../../models/safetensors';
import { progressBar } from '../../util/progress';

/** Positive integer option parser. */
export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

export function parseRole(v: string): Role {
  if (v !== 'query' && v !== 'document') throw new InvalidArgumentError(`must be 'query' or 'document'`);
  return v;
}

/** Texts of a JSONL file of {"_id", "text", "title"?}; a title is joined before the text, as BEIR evaluations do. */
export function readTexts(file: string): { ids: string[]; texts: string[] } {
  if (!fs.existsSync(file)) throw new UserError(`${file}: not found`);
  const docs = readCorpus(file);
  return { ids: docs.map((d) => d.id), texts: docs.map((d) => (d.title ? `${d.title} ${d.text}` : d.text)) };
}

/** Encodes with a progress bar on a terminal. */
export async function encodeWithProgress(model: { encode: (t: string[], r: Role, o: object) => Promise<Encoded> }, texts: string[], role: Role, batchSize: number, label = `encode ${role}s`): Promise<Encoded> {
  const bar = progressBar(label, texts.length, 'texts');
  try {
    return await model.encode(texts, role, { batchSize, onProgress: (done: number) => bar.update(done) });
  } finally {
    bar.stop();
  }
}

export function registerEncode(program: Command): void {
  const cmd = program
    .command('encode')
    .description('encode texts (JSONL {"_id","text"}) with a model; writes embeddings (and the scoring mask for ColBERT) as safetensors')
    .requiredOption('--model <dir>', 'model folder (PyLate ColBERT or sentence-transformers dense)')
    .requiredOption('--input <file>', 'JSONL, one {"_id", "text"} per line ("title" is joined before the text when present)')
    .requiredOption('--as <role>', "'query' or 'document'", parseRole)
    .requiredOption('--out <file>', 'output .safetensors: embeddings [n, tokens, dim] + mask [n, tokens] (ColBERT) or embeddings [n, dim] (dense)')
    .option('--batch-size <n>', 'texts per forward pass', positiveInt('--batch-size'), 32)
    .option('--workers <n>', 'tfjs engine: encoding threads (tfjs-wasm uses one core each; each loads the model)', positiveInt('--workers'), 1);
  addEngineOptions(cmd)
    .action(async (opts: { model: string; input: string; as: Role; out: string; batchSize: number; workers: number; engine?: string; threads?: number }) => {
      await initBackend();
      const { ids, texts } = readTexts(opts.input);
      const model = await openModel(opts.model, opts);
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
      let kind: string = model.kind;
      if (opts.workers > 1) {
        const bar = progressBar(`encode ${opts.as}s`, texts.length, 'texts');
        const enc = await encodeParallel(opts.model, texts, opts.as, { workers: opts.workers, batchSize: opts.batchSize, onProgress: (d) => bar.update(d) });
        bar.stop();
        const n = texts.length;
        tensors.embeddings = { shape: enc.kind === 'dense' ? [n, enc.dim] : [n, enc.length, enc.dim], data: enc.embeddings };
        if (enc.mask) tensors.mask = { shape: [n, enc.length], data: enc.mask };
        kind = enc.kind;
      } else {
        const enc = await encodeWithProgress(model, texts, opts.as, opts.batchSize);
        tensors.embeddings = { shape: enc.embeddings.shape, data: enc.embeddings.dataSync() as Float32Array };
        if (enc.mask) tensors.mask = { shape: enc.mask.shape, data: enc.mask.dataSync() as Float32Array };
      }
      writeSafetensors(opts.out, tensors, {
        metadata: { ids: JSON.stringify(ids), role: opts.as, kind, model: path.basename(path.resolve(opts.model)) },
      });
      process.stderr.write(`encoded ${texts.length} texts as ${opts.as} → ${opts.out} (embeddings [${tensors.embeddings.shape}])\n`);
      model.dispose();
    });
}
