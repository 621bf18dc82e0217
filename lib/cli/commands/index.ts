/** `colbert-zero index`: a corpus encoded into an exact index folder. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { readCorpus } from '../../data/beir';
import { ModelFolder } from '../../models/model-folder';
import { addEngineOptions, engineOf, openModel } from './engine-options';
import { ParallelEncoder } from '../../models/parallel-encode';
import { writeIndexFiles } from '../../retrieval/io';
import type { StorageDtype } from '../../retrieval/index-store';
import { indexCorpus } from '../../retrieval/corpus';
import { oneOf, positiveInt } from '../options';
import { checkOutput, writeOutputDir } from '../../util/output';
import { encodeWorkerBytes, planParallelism } from '../../util/limits';
import { INDEX_FORMAT } from '../../retrieval/io';
import { readJsonFile } from '../../util/json';

/** A previous `index` output: its manifest names the index format. */
function isIndexDir(dir: string): boolean {
  return indexFiles(dir) !== null;
}

/** The files an index wrote, as its manifest lists them (the index's record of its files: no marker needed). */
function indexFiles(dir: string): string[] | null {
  try {
    const m = readJsonFile<{ format?: string; files?: Record<string, string> }>(path.join(dir, 'manifest.json'));
    return m.format === INDEX_FORMAT && m.files ? ['manifest.json', ...Object.values(m.files)] : null;
  } catch {
    return null;
  }
}

/** A BEIR folder's corpus.jsonl, or a JSONL file itself. */
function corpusFile(spec: string): string {
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    const f = path.join(spec, 'corpus.jsonl');
    if (!fs.existsSync(f)) throw new UserError(`${f}: not found (expected a BEIR folder or a corpus .jsonl)`);
    return f;
  }
  if (!fs.existsSync(spec)) throw new UserError(`${spec}: not found`);
  return spec;
}

export function registerIndex(program: Command): void {
  const cmd = program
    .command('index')
    .description('encode a corpus (BEIR folder or JSONL) and write an exact index (multi-vector for ColBERT, single-vector for dense)')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--corpus <dir|file>', 'BEIR dataset folder (its corpus.jsonl) or a JSONL of {"_id", "title"?, "text"}')
    .requiredOption('--out <dir>', 'index folder: a new path, or with --overwrite a previous index (never anything else)')
    .option('--overwrite', "replace --out when it is an index written by this command: only the files its manifest lists; files you added stay")
    .option('--dtype <type>', 'vector storage: float32 or float16', oneOf<StorageDtype>('float32', 'float16'), 'float32' as StorageDtype)
    .option('--batch-size <n>', 'texts per forward pass', positiveInt, 32)
    .option('--chunk <n>', 'documents encoded before they are added to the index (bounds memory)', positiveInt, 1024)
    .option('--workers <n>', 'encoding threads (one core and one model copy each; capped at the number of batches, a warning above the cores, refused when the memory estimate does not fit)', positiveInt, 1);
  addEngineOptions(cmd, { workers: true })
    .action(async (opts: { model: string; corpus: string; out: string; dtype: StorageDtype; batchSize: number; chunk: number; workers: number; overwrite?: boolean; engine?: string; threads?: number }) => {
      checkOutput(opts.out, { command: 'index', kind: 'dir', overwrite: opts.overwrite, isOurs: isIndexDir });
      await initBackend();
      const docs = readCorpus(corpusFile(opts.corpus));
      // Before the model loads: no more workers than batches, a warning above the cores, a refusal above memory.
      const engine = engineOf(opts, { workers: true });
      const folder = ModelFolder.open(opts.model);
      const workers = planParallelism({ what: '--workers', requested: opts.workers, perWorkerBytes: encodeWorkerBytes(folder.encoderShape(), opts.batchSize), work: Math.ceil(docs.length / opts.batchSize) });
      const model = await openModel(folder, engine, opts);
      // More than one worker: each loads the model in its own thread (tfjs-wasm computes on one core).
      const encoder = workers > 1 ? new ParallelEncoder(opts.model, model.kind, model.dim, workers) : model;
      const index = await indexCorpus(encoder, docs, {
        dtype: opts.dtype,
        batchSize: opts.batchSize,
        chunkSize: opts.chunk * workers,
        progress: 'index',
        modelFingerprint: folder.fingerprint(),
      });
      const dtype = index.dtype;
      await writeOutputDir(opts.out, 'index', (tmp) => writeIndexFiles(index, tmp), { record: { file: 'manifest.json', files: indexFiles } });
      process.stderr.write(`indexed ${index.size} documents (${index.totalTokens} vectors of dim ${index.dim}, ${dtype}) → ${opts.out}\n`);
      model.dispose();
    });
}
