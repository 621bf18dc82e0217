/** `colbert-zero export-onnx`: writes model.onnx (ModernBERT + its head) beside a checkpoint. */
import * as fs from 'node:fs';
import type { Command } from 'commander';
import { exportOnnx, ONNX_RECORD_FILE } from '../../models/onnx/export';
import { UserError } from '../../util/errors';

export function registerExportOnnx(program: Command): void {
  program
    .command('export-onnx')
    .description('write model.onnx (ModernBERT with its ColBERT or dense head, dynamic batch and length) beside a checkpoint, atomically; encode/index/score/search with --engine ort do this on first use')
    .requiredOption('--model <dir>', 'model folder (PyLate ColBERT, sentence-transformers dense, or plain ModernBERT with --head)')
    .option('--head <kind>', 'head for a plain ModernBERT folder: colbert or dense')
    .action(async (opts: { model: string; head?: string }) => {
      if (opts.head !== undefined && opts.head !== 'colbert' && opts.head !== 'dense') throw new UserError(`--head must be colbert or dense, got ${opts.head}`);
      const t0 = performance.now();
      const { file, record } = await exportOnnx(opts.model, { fallback: opts.head as 'colbert' | 'dense' | undefined });
      const mb = fs.statSync(file).size / 2 ** 20;
      process.stderr.write(`${file}: ${record.kind} model, dim ${record.dim}, ${mb.toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s (source sha256 ${record.source.slice(0, 12)}… in ${ONNX_RECORD_FILE})\n`);
    });
}
