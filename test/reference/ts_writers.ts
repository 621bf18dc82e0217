/**
 * TypeScript side of the cross-checks in make_tokenize_fixtures.py: builds the tiny tokenizer and
 * writes a safetensors file with this library, so the Python script can load both with the reference
 * libraries. The test files import SAMPLE_TENSORS to check they still write the same bytes.
 *   node --import tsx test/reference/ts_writers.ts tiny-tokenizer <outDir> <vocabSize>
 *   node --import tsx test/reference/ts_writers.ts safetensors <file>
 *   node --import tsx test/reference/ts_writers.ts dense <dir>
 *   node --import tsx test/reference/ts_writers.ts sharded <dir> <spec.json>   (spec: {shapes: {name: shape}, maxShardBytes})
 */
import { IDENTITY_ACTIVATION, writeDenseLayer } from '../../lib/models/checkpoint-files';
import * as fs from 'node:fs';
import { writeSafetensors, writeShardedSafetensors, type TensorInput } from '../../lib/models/safetensors';
import { buildTinyTokenizer } from '../../lib/tokenize/tiny';

/** Tensors with values that exercise each dtype: rounding (F16/BF16), subnormals, signs, int extremes. */
export function sampleTensors(): Record<string, TensorInput> {
  const ramp = Float32Array.from({ length: 12 }, (_, i) => (i - 5.5) / 3);
  return {
    'encoder.weight': { shape: [3, 4], data: ramp },
    'encoder.bias': { shape: [4], data: Float32Array.from([0, -0, 1e-3, 65504]) },
    'half.values': { shape: [2, 3], dtype: 'F16', data: Float32Array.from([1 / 3, -2.5, 6e-8, 1e-5, 70000, 0.1]) },
    'brain.values': { shape: [5], dtype: 'BF16', data: Float32Array.from([1 / 3, -2.5, 1e-30, 3e38, 0.1]) },
    'ids.i32': { shape: [2, 2], data: Int32Array.from([0, -1, 2147483647, -2147483648]) },
    'ids.i64': { shape: [3], data: BigInt64Array.from([0n, -5n, 9007199254740993n]) },
    'empty': { shape: [0, 4], data: new Float32Array(0) },
  };
}

/** A PyLate Dense module 4 → 3 with bias: weight[i][j] = (i + 1) * (j - 1.5) / 4, bias [0.5, -0.5, 0]. */
export function sampleDense() {
  return {
    config: { in_features: 4, out_features: 3, bias: true, activation_function: IDENTITY_ACTIVATION, use_residual: false },
    weight: { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, k) => ((Math.floor(k / 4) + 1) * ((k % 4) - 1.5)) / 4) },
    bias: { shape: [3], data: Float32Array.from([0.5, -0.5, 0]) },
  };
}

/** Deterministic values for a sharded-checkpoint check: element j of the k-th name (sorted). */
export function patternValue(k: number, j: number): number {
  return (((j * 7 + k * 13) % 101) - 50) / 100;
}

/** Tensors named and shaped by `spec` (name → shape), filled with patternValue. */
export function patternTensors(spec: Record<string, number[]>): Record<string, TensorInput> {
  const out: Record<string, TensorInput> = {};
  Object.keys(spec).sort().forEach((name, k) => {
    const shape = spec[name];
    const n = shape.reduce((a, b) => a * b, 1);
    out[name] = { shape, data: Float32Array.from({ length: n }, (_, j) => patternValue(k, j)) };
  });
  return out;
}

export const SAMPLE_METADATA = { format: 'pt', written_by: 'colbert-zero-workbook' };

if (require.main === module) {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'tiny-tokenizer') buildTinyTokenizer(a, { vocabSize: Number(b) });
  else if (cmd === 'dense') writeDenseLayer(a, sampleDense());
  else if (cmd === 'sharded') {
    const spec = JSON.parse(fs.readFileSync(b, 'utf8'));
    process.stdout.write(JSON.stringify(writeShardedSafetensors(a, patternTensors(spec.shapes), { maxShardBytes: spec.maxShardBytes })) + '\n');
  }
  else if (cmd === 'safetensors') writeSafetensors(a, sampleTensors(), { metadata: SAMPLE_METADATA });
  else {
    process.stderr.write('usage: ts_writers.ts tiny-tokenizer <dir> <vocabSize> | safetensors <file> | dense <dir> | sharded <dir> <spec.json>\n');
    process.exit(2);
  }
}
