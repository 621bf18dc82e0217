import * as fs from 'node:fs';
import type { Command } from 'commander';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { loadBeir, readQueries } from '../../data/beir';
import { writeTrecRun } from '../../data/trec';
import type { Query } from '../../data/types';
import { ModelFolder } from '../../models/model-folder';
import { productFor } from '../../backend/ort-gemm';
import { addEngineOptions, engineOf, openModel } from './engine-options';
import { loadIndex } from '../../retrieval/io';
import { searchQueries } from '../../retrieval/corpus';
import { positiveInt } from '../options';
import { threadCount } from '../../util/limits';
import { checkOutput } from '../../util/output';

export function registerSearch(program: Command): void {
  const cmd = program
    .command('search')
    .description('encode queries and retrieve the top k documents of an index exactly; writes a TREC run')
    .requiredOption('--index <dir>', 'index folder written by `index`')
    .requiredOption('--model <dir>', 'the model the index was built with')
    .requiredOption('--queries <file|dir>', 'JSONL {"_id", "text"}, or a BEIR folder (its judged queries of --split)')
    .option('--split <name>', 'qrels split when --queries is a BEIR folder', 'test')
    .option('--k <n>', 'documents per query', positiveInt, 100)
    .requiredOption('--out <file>', 'TREC run file (an existing file is replaced only with --overwrite)')
    .option('--overwrite', 'replace --out when the file exists')
    .option('--batch-size <n>', 'queries per forward pass', positiveInt, 32)
    .option('--tag <tag>', 'run tag (last column)', 'colbert-zero')
    .option('--force', 'search even if the index was built with another model (or records none)');
  addEngineOptions(cmd, { search: true })
    .action(async (opts: { index: string; model: string; queries: string; split: string; k: number; out: string; batchSize: number; tag: string; force?: boolean; overwrite?: boolean; engine?: string; threads?: number }) => {
      checkOutput(opts.out, { command: 'search', kind: 'file', overwrite: opts.overwrite });
      await initBackend();
      if (!fs.existsSync(opts.queries)) throw new UserError(`${opts.queries}: not found`);
      const queries: Query[] = fs.statSync(opts.queries).isDirectory() ? loadBeir(opts.queries, opts.split).queries : readQueries(opts.queries);
      // One engine for the whole search: the queries are encoded and the index scored on it.
      const engine = engineOf(opts, { search: true });
      const product = productFor(engine);
      const folder = ModelFolder.open(opts.model);
      const model = await openModel(folder, engine, opts);
      const index = loadIndex(opts.index, { kind: model.kind === 'colbert' ? 'multivector' : 'dense', dim: model.dim, modelFingerprint: folder.fingerprint(), force: opts.force });
      // --threads also sets the search's threads (documents split across worker threads), whatever the engine.
      const run = await searchQueries(model, index, queries, { k: opts.k, batchSize: opts.batchSize, progress: 'search', search: { threads: threadCount(opts.threads), product } });
      writeTrecRun(opts.out, run, { tag: opts.tag });
      process.stderr.write(`searched ${queries.length} queries over ${index.size} documents (k=${opts.k}; encoded on ${engine.engine}, scored on ${product}) → ${opts.out}\n`);
      model.dispose();
    });
}
