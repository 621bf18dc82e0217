/**
 * Synchronous ONNX Runtime products (lib/backend/ort-gemm.ts) against a plain loop for every transpose
 * combination and odd shapes, and the blocked MaxSim of lib/scores giving the same scores with its
 * products on ORT as on tfjs (float32, float16 and shared-memory stores, ragged and equal lengths, empty
 * documents, several threads).
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { gemm, gemmAvailable } from '../lib/backend/ort-gemm';
import { maxSimBlocked } from '../lib/scores/maxsim-blocked';
import { encodeF16 } from '../lib/util/f16';
import { assertClose, seededFloats } from './helpers/tensors';

function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
      out[i * n + j] = s;
    }
  return out;
}

describe('ORT GEMM', () => {
  before(async () => {
    await initBackend();
  });

  it('is available where onnxruntime-node loads', () => {
    assert.equal(gemmAvailable(), true);
  });

  it('matches a plain loop for every transpose combination', () => {
    for (const [m, k, n] of [[1, 1, 1], [7, 13, 5], [64, 33, 130]]) {
      for (const ta of [false, true]) {
        for (const tb of [false, true]) {
          const a = seededFloats(m * k, m + k);
          const b = seededFloats(k * n, k + n);
          const c = gemm(a, b, m, k, n, { transA: ta, transB: tb, threads: 2 });
          assert.equal(c.length, m * n);
          assertClose(c, reference(a, b, m, k, n, ta, tb), 1e-6, `gemm ${m}×${k}×${n} transA=${ta} transB=${tb}`);
        }
      }
    }
  });

  it('rejects mismatched sizes', () => {
    assert.throws(() => gemm(new Float32Array(6), new Float32Array(5), 2, 3, 2), /expected 2×3 and 3×2 values/);
  });

  it('the blocked MaxSim scores the same with ORT and tfjs products (f32, f16, empty documents, small blocks)', () => {
    const dim = 16;
    for (const lengths of [[5, 0, 9, 1, 30, 3], [6, 6, 0, 6, 6, 6]]) {
      // Ragged lengths (ORT: sorted groups, padded), and one length (a float32 store passed to ORT as it is).
      const offsets = [0];
      for (const l of lengths) offsets.push(offsets[offsets.length - 1] + l);
      const store = seededFloats(offsets[lengths.length] * dim, 3);
      const queries = [seededFloats(4 * dim, 4), seededFloats(7 * dim, 5), new Float32Array(0)];
      const sharedStore = new Float32Array(new SharedArrayBuffer(store.byteLength));
      sharedStore.set(store);
      for (const s of [store, encodeF16(store), sharedStore]) {
        for (const maxBlockFloats of [64, 1 << 20]) {
          const run = (product: 'ort' | 'tfjs') => {
            const out = queries.map(() => new Float64Array(lengths.length));
            maxSimBlocked(queries, { dim, offsets, store: s }, out, { product, maxBlockFloats, threads: 2 });
            return out;
          };
          const a = run('ort');
          const b = run('tfjs');
          a.forEach((row, i) => assertClose(row, b[i], 1e-6, `query ${i}`));
          assert.equal(a[0][lengths.indexOf(0)], 0, 'empty document scores 0');
          assert.deepEqual(Array.from(a[2]), [0, 0, 0, 0, 0, 0], 'a query without tokens scores 0');
        }
      }
    }
  });
});
