/** `colbert-zero index` (the file is not named index.ts: that name is the command registry's). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { readCorpus } from '../../data/beir';
import { addEngineOptions, openModel } from './engine-options';
import { encodeParallel } from '../../models/parallel-encode';
import { DenseIndex, MultiVectorIndex, saveIndex, type StorageDtype } from '../../retrieval/index';
import { progressBar } from '../../util/progress';
import { positiveInt } from './encode';

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
  const cmd = program
    .command('index')
    .description('encode a corpus (BEIR folder or JSONL) and write an exact index (multi-vector for ColBERT, single-vector for dense)')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--corpus <dir|file>', 'BEIR dataset folder (its corpus.jsonl) or a JSONL of {"_id", "title"?, "text"}')
    .requiredOption('--out <dir>', 'index folder (replaced atomically)')
    .option('--dtype <type>', 'vector storage: float32 or float16', 'float32')
    .option('--batch-size <n>', 'texts per forward pass', positiveInt('--batch-size'), 32)
    .option('--chunk <n>', 'documents encoded before they are added to the index (bounds memory)', positiveInt('--chunk'), 1024)
    .option('--workers <n>', 'tfjs engine: encoding threads (tfjs-wasm uses one core each; each loads the model)', positiveInt('--workers'), 1);
  addEngineOptions(cmd)
    .action(async (opts: { model: string; corpus: string; out: string; dtype: string; batchSize: number; chunk: number; workers: number; engine?: string; threads?: number }) => {
      if (opts.dtype !== 'float32' && opts.dtype !== 'float16') throw new UserError(`--dtype must be float32 or float16, got ${opts.dtype}`);
      await initBackend();
      const docs = readCorpus(corpusFile(opts.corpus));
      const model = await openModel(opts.model, opts);
      const dtype = opts.dtype as StorageDtype;
      const index = model.kind === 'colbert' ? new MultiVectorIndex({ dim: model.dim, dtype }) : new DenseIndex({ dim: model.dim, dtype });
      const bar = progressBar('index', docs.length, 'docs');
      try {
        const chunk = opts.chunk * opts.workers;
        for (let start = 0; start < docs.length; start += chunk) {
          const part = docs.slice(start, start + chunk);
          const texts = part.map((d) => (d.title ? `${d.title} ${d.text}` : d.text));
          const ids = part.map((d) => d.id);
          const onProgress = (done: number) => bar.update(start + done);
          if (opts.workers > 1) {
            const enc = await encodeParallel(opts.model, texts, 'document', { workers: opts.workers, batchSize: opts.batchSize, onProgress });
            if (index instanceof MultiVectorIndex) index.addPadded(ids, enc.embeddings, enc.mask!, enc.length);
            else index.addRows(ids, enc.embeddings);
            continue;
          }
          const enc = await model.encode(texts, 'document', { batchSize: opts.batchSize, onProgress });
          const emb = enc.embeddings.dataSync() as Float32Array;
          if (index instanceof MultiVectorIndex) index.addPadded(ids, emb, enc.mask!.dataSync(), enc.embeddings.shape[1]!);
          else index.addRows(ids, emb);
          enc.embeddings.dispose();
          enc.mask?.dispose();
        }
      } finally {
        bar.stop();
      }
      await saveIndex(index, opts.out);
      process.stderr.write(`indexed ${index.size} documents (${index.totalTokens} vectors of dim ${index.dim}, ${dtype}) → ${opts.out}\n`);
      model.dispose();
    });
}
