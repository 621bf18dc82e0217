import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { documentText, readCorpus, readQueries } from '../../data/beir';
import { addEngineOptions, engineOf, openModel } from './engine-options';
import { ModelFolder } from '../../models/model-folder';
import { encodeParallel } from '../../models/parallel-encode';
import type { Encoded } from '../../scores/encoded';
import type { Role } from '../../tokenize/types';
import { writeSafetensors } from '../../models/safetensors';
import { progressBar } from '../../util/progress';
import { checkOutput } from '../../util/output';
import { encodeWorkerBytes, planParallelism } from '../../util/limits';
import { oneOf, positiveInt } from '../options';

const parseRole: (v: string) => Role = oneOf('query', 'document');

/**
 * Texts of a JSONL file of {"_id", "text", "title"?}, read as queries or documents (errors say which: a
 * repeated query id is a duplicate query id); a document is `documentText` (title before text), as
 * index and search see it.
 */
export function readTexts(file: string, role: Role): { ids: string[]; texts: string[] } {
  if (!fs.existsSync(file)) throw new UserError(`${file}: not found`);
  if (role === 'query') {
    const queries = readQueries(file);
    return { ids: queries.map((q) => q.id), texts: queries.map((q) => q.text) };
  }
  const docs = readCorpus(file);
  return { ids: docs.map((d) => d.id), texts: docs.map(documentText) };
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
    .option('--overwrite', 'replace --out when the file exists')
    .option('--batch-size <n>', 'texts per forward pass', positiveInt, 32)
    .option('--workers <n>', 'encoding threads (one core and one model copy each; capped at the number of batches, a warning above the cores, refused when the memory estimate does not fit)', positiveInt, 1);
  addEngineOptions(cmd, { workers: true })
    .action(async (opts: { model: string; input: string; as: Role; out: string; batchSize: number; workers: number; overwrite?: boolean; engine?: string; threads?: number }) => {
      checkOutput(opts.out, { command: 'encode', kind: 'file', overwrite: opts.overwrite });
      await initBackend();
      const { ids, texts } = readTexts(opts.input, opts.as);
      // Before the model loads: no more workers than batches, a warning above the cores, a refusal above memory.
      const engine = engineOf(opts, { workers: true });
      const folder = ModelFolder.open(opts.model);
      const workers = planParallelism({ what: '--workers', requested: opts.workers, perWorkerBytes: encodeWorkerBytes(folder.encoderShape(), opts.batchSize), work: Math.ceil(texts.length / opts.batchSize) });
      const model = await openModel(folder, engine, opts);
      const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
      let kind: string = model.kind;
      if (workers > 1) {
        const bar = progressBar(`encode ${opts.as}s`, texts.length, 'texts');
        const enc = await encodeParallel(opts.model, texts, opts.as, { workers, batchSize: opts.batchSize, onProgress: (d) => bar.update(d) });
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
      process.stderr.write(`encoded ${texts.length} texts as ${opts.as} → ${opts.out} (embeddings [${tensors.embeddings.shape}], ${workers} worker${workers > 1 ? 's' : ''})\n`);
      model.dispose();
    });
}
