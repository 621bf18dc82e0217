import type { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend/index';
import { addEngineOptions, engineOf, openModel } from './engine-options';
import { ModelFolder } from '../../models/model-folder';
import { colbertScores, dotScores } from '../../scores/index';
import { writeFileAtomic } from '../../util/atomic';
import { checkOutput } from '../../util/output';
import { encodeWithProgress, readTexts } from './encode';
import { positiveInt } from '../options';

export function registerScore(program: Command): void {
  const cmd = program
    .command('score')
    .description('score every query against every document: JSON matrix [queries][documents] (MaxSim for ColBERT, dot product for dense)')
    .requiredOption('--model <dir>', 'model folder')
    .requiredOption('--queries <file>', 'JSONL {"_id", "text"}')
    .requiredOption('--documents <file>', 'JSONL {"_id", "text", "title"?}')
    .option('--batch-size <n>', 'texts per forward pass', positiveInt, 32)
    .option('--out <file>', 'write the JSON here instead of stdout (an existing file is replaced only with --overwrite)')
    .option('--overwrite', 'replace --out when the file exists')
    .option('--ids', 'print {"queries": ids, "documents": ids, "scores": matrix} instead of the bare matrix');
  addEngineOptions(cmd)
    .action(async (opts: { model: string; queries: string; documents: string; batchSize: number; out?: string; ids?: boolean; overwrite?: boolean; engine?: string; threads?: number }) => {
      if (opts.out) checkOutput(opts.out, { command: 'score', kind: 'file', overwrite: opts.overwrite });
      await initBackend();
      const queries = readTexts(opts.queries, 'query');
      const docs = readTexts(opts.documents, 'document');
      const model = await openModel(ModelFolder.open(opts.model), engineOf(opts), opts);
      const q = await encodeWithProgress(model, queries.texts, 'query', opts.batchSize);
      const d = await encodeWithProgress(model, docs.texts, 'document', opts.batchSize);
      const s = model.kind === 'colbert'
        ? colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask)
        : dotScores(q.embeddings as tf.Tensor2D, d.embeddings as tf.Tensor2D);
      const matrix = (await s.array()) as number[][];
      const json = JSON.stringify(opts.ids ? { queries: queries.ids, documents: docs.ids, scores: matrix } : matrix) + '\n';
      if (opts.out) writeFileAtomic(opts.out, json);
      else process.stdout.write(json);
      tf.dispose([q.embeddings, q.mask, d.embeddings, d.mask, s].filter((t): t is tf.Tensor => !!t));
      model.dispose();
    });
}
