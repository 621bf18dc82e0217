/** `colbert-zero export-onnx`: writes model.onnx (ModernBERT + its head) beside a checkpoint. */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { exportOnnx, ONNX_RECORD_FILE } from '../../models/onnx/export';
import { ModelFolder } from '../../models/model-folder';
import { UsageError } from '../../util/errors';
import { oneOf } from '../options';

type Head = 'colbert' | 'dense';
const HEAD_NAMES: Record<Head, string> = { colbert: 'a ColBERT model (PyLate layout)', dense: 'a dense model (sentence-transformers layout)' };

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('write model.onnx (ModernBERT with its ColBERT or dense head, dynamic batch and length) beside a checkpoint, atomically; encode/index/score/search with --engine ort do this on first use')
    .requiredOption('--model <dir>', 'model folder (PyLate ColBERT, sentence-transformers dense, or plain ModernBERT with --head)')
    .option('--head <kind>', 'head for a plain ModernBERT folder: colbert or dense (a folder with its own head keeps it)', oneOf<Head>('colbert', 'dense'))
    .action(async (opts: { model: string; head?: Head }) => {
      // --head only chooses the head of a plain ModernBERT folder: asked of a model with another head, say so
      // instead of writing that model's own graph.
      const folder = ModelFolder.open(opts.model);
      const kind = folder.kind;
      if (opts.head && kind !== 'transformer' && kind !== opts.head) throw new UsageError(`--head ${opts.head}: ${opts.model} is ${HEAD_NAMES[kind]}; --head chooses the head of a plain ModernBERT folder only`);
      const t0 = performance.now();
      const { file, record } = await exportOnnx(folder, { fallback: opts.head });
      const mb = fs.statSync(file).size / 2 ** 20;
      process.stderr.write(`${file}: ${record.kind} model, dim ${record.dim}, ${mb.toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s (source sha256 ${record.source.slice(0, 12)}… in ${ONNX_RECORD_FILE})\n`);
    });
}
