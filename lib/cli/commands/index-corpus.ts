/** `colbert-zero index` (the file is not named index.ts: that name is the command registry's). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { readCorpus } from '../../data/beir';
import { loadEncoder, modelFingerprint } from '../../models/load';
import { ParallelEncoder } from '../../models/parallel-encode';
import { saveIndex } from '../../retrieval/io';
import type { StorageDtype } from '../../retrieval/index-store';
import { indexCorpus } from '../../retrieval/corpus';
import { positiveInt } from '../options';
import { checkOutput } from '../../util/output';
import { encodeWorkerBytes, planParallelism } from '../../util/limits';
import { INDEX_FORMAT } from '../../retrieval/io';

/** A previous `index` output: its manifest names the index format. */
function isIndexDir(dir: string): boolean {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).format === INDEX_FORMAT;
  } catch {
    return false;
  }
}

/** A BEIR folder's corpus.jsonl, or a JSONL file itself. */
export function corpusFile(spec: string): string {
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    const f = path.join(spec, 'corpus.jsonl');
    if (!fs.existsSync(f)) throw new UserError(`${f}: not found (expected a BEIR folder or a corpus .jsonl)`);
    return f;
  }
  if (!fs.existsSync(spec)) throw new UserError(`${spec}: not found`);
  return spec;
}

export function registerIndex(program: Command): void {
  program
    .command('index')
    .description('encode a corpus (BEIR folder or JSONL) and write an exact index (multi-vector for ColBERT, single-vector for dense)')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--corpus <dir|file>', 'BEIR dataset folder (its corpus.jsonl) or a JSONL of {"_id", "title"?, "text"}')
    .requiredOption('--out <dir>', 'index folder: a new path, or with --overwrite a previous index (never anything else)')
    .option('--overwrite', 'replace --out when it is an index written by this command (atomically)')
    .option('--dtype <type>', 'vector storage: float32 or float16', 'float32')
    .option('--batch-size <n>', 'texts per forward pass', positiveInt, 32)
    .option('--chunk <n>', 'documents encoded before they are added to the index (bounds memory)', positiveInt, 1024)
    .option('--workers <n>', 'encoding threads (one core and one model copy each; capped at the number of batches, a warning above the cores, refused when the memory estimate does not fit)', positiveInt, 1)
    .action(async (opts: { model: string; corpus: string; out: string; dtype: string; batchSize: number; chunk: number; workers: number; overwrite?: boolean }) => {
      checkOutput(opts.out, { command: 'index', kind: 'dir', overwrite: opts.overwrite, isOurs: isIndexDir });
      if (opts.dtype !== 'float32' && opts.dtype !== 'float16') throw new UserError(`--dtype must be float32 or float16, got ${opts.dtype}`);
      await initBackend();
      const docs = readCorpus(corpusFile(opts.corpus));
      // Before the model loads: no more workers than batches, a warning above the cores, a refusal above memory.
      const workers = planParallelism({ what: '--workers', requested: opts.workers, perWorkerBytes: encodeWorkerBytes(opts.model, opts.batchSize), work: Math.ceil(docs.length / opts.batchSize) });
      const model = await loadEncoder(opts.model);
      // More than one worker: each loads the model in its own thread (tfjs-wasm computes on one core).
      const encoder = workers > 1 ? new ParallelEncoder(opts.model, model.kind, model.dim, workers) : model;
      const index = await indexCorpus(encoder, docs, {
        dtype: opts.dtype as StorageDtype,
        batchSize: opts.batchSize,
        chunkSize: opts.chunk * workers,
        progress: 'index',
        modelFingerprint: modelFingerprint(opts.model),
      });
      const dtype = index.dtype;
      await saveIndex(index, opts.out);
      process.stderr.write(`indexed ${index.size} documents (${index.totalTokens} vectors of dim ${index.dim}, ${dtype}) → ${opts.out}\n`);
      model.dispose();
    });
}
