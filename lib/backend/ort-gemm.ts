/**
 * Synchronous float32 matrix products on ONNX Runtime's native CPU kernels (multi-threaded MLAS), for
 * code that cannot await: MaxSim's block products and, optionally, the 2-D products of lib/backend/matmul.
 *
 * onnxruntime-node's public `InferenceSession.run` returns a promise, but it only defers (setImmediate) a
 * call to the native session's synchronous `run`. This module opens that native session directly through
 * the package's binding (`onnxruntime-node/dist/binding`, the object its own session handler uses) and
 * calls `run` synchronously. That binding is not a documented API: a future onnxruntime-node may change it,
 * and `gemmAvailable()` then reports false (callers fall back to tfjs only when they were not told to use ORT).
 *
 * One graph per transpose combination: Gemm(A, B, transA, transB) with dynamic M, K, N.
 */
import { GraphBuilder, FLOAT } from './onnx-graph';
import { defaultThreads, loadOrt } from './ort';
import { resolveEngine, type Engine, type ResolvedEngine } from './engine';
import { UserError } from '../util/errors';

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, { data: Float32Array } | { cpuData?: Float32Array; data: Float32Array }>;
}

let binding: { InferenceSession: new () => NativeSession } | null | undefined;
let bindingError = '';
const sessions = new Map<string, NativeSession>();
let sessionThreads = 0;

function nativeBinding(): { InferenceSession: new () => NativeSession } | null {
  if (binding !== undefined) return binding;
  try {
    loadOrt();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const b = require('onnxruntime-node/dist/binding') as { binding: { InferenceSession: new () => NativeSession }; initOrt: () => void };
    b.initOrt();
    binding = typeof b.binding?.InferenceSession === 'function' ? b.binding : null;
    if (!binding) bindingError = 'onnxruntime-node/dist/binding has no InferenceSession';
  } catch (e) {
    binding = null;
    bindingError = (e as Error).message.split('\n')[0];
  }
  return binding;
}

/** True when synchronous ORT products are available here (the engine's error names why not). */
export function gemmAvailable(): boolean {
  return nativeBinding() !== null;
}

/** The cached session of a small graph (`key` names it; `build` writes it), on `threads` intra-op threads. */
function cachedSession(key: string, threads: number, build: (g: GraphBuilder) => void): NativeSession {
  if (threads !== sessionThreads) {
    sessions.clear();
    sessionThreads = threads;
  }
  let s = sessions.get(key);
  if (!s) {
    const b = nativeBinding();
    if (!b) throw new Error(`ORT GEMM unavailable: ${bindingError}`);
    const g = new GraphBuilder();
    build(g);
    const bytes = g.serialize({ producer: 'colbert-zero-workbook', version: `${key}/1` });
    s = new b.InferenceSession();
    s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
      executionProviders: ['cpu'],
    });
    sessions.set(key, s);
  }
  return s;
}

function session(transA: boolean, transB: boolean, threads: number): NativeSession {
  return cachedSession(`gemm${+transA}${+transB}`, threads, (g) => {
    const a = g.input('a', FLOAT, transA ? ['k', 'm'] : ['m', 'k']);
    const bb = g.input('b', FLOAT, transB ? ['n', 'k'] : ['k', 'n']);
    g.output(g.op('Gemm', [a, bb], { transA: +transA, transB: +transB }), 'c', FLOAT, ['m', 'n']);
  });
}

/**
 * MaxSim's product and max in one ORT graph: documents padded to one length, d [b, l, k], and the
 * stacked query tokens transposed, qt [k, n]: MatMul → [b, l, n], ReduceMax over the l document tokens
 * → [b, n] (each document's best dot product per query token). Padding rows must not raise a max: the
 * caller pads with copies of a document's own rows. Synchronous, on `threads` threads.
 */
export function blockMaxSim(d: Float32Array, b: number, l: number, k: number, qt: Float32Array, n: number, opts: { threads?: number } = {}): Float32Array {
  const ort = loadOrt();
  if (d.length !== b * l * k || qt.length !== k * n) throw new Error(`blockMaxSim: expected ${b}×${l}×${k} and ${k}×${n} values, got ${d.length} and ${qt.length}`);
  const s = cachedSession('maxsim', opts.threads ?? defaultThreads(), (g) => {
    const di = g.input('d', FLOAT, ['b', 'l', 'k']);
    const qi = g.input('qt', FLOAT, ['k', 'n']);
    g.output(g.op('ReduceMax', [g.op('MatMul', [di, qi])], { axes: [1], keepdims: 0 }), 'best', FLOAT, ['b', 'n']);
  });
  const out = s.run({ d: new ort.Tensor('float32', d, [b, l, k]), qt: new ort.Tensor('float32', qt, [k, n]) }, { best: null }, {});
  return out.best.data as Float32Array;
}

/**
 * op(a)·op(b) for row-major float32 matrices: a is [m, k] ([k, m] when transA), b is [k, n] ([n, k] when
 * transB); returns [m, n]. Runs synchronously on `threads` threads (default: all cores, or CZ_THREADS).
 */
export function gemm(a: Float32Array, b: Float32Array, m: number, k: number, n: number, opts: { transA?: boolean; transB?: boolean; threads?: number } = {}): Float32Array {
  const ort = loadOrt();
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  if (a.length !== m * k || b.length !== k * n) throw new Error(`gemm: expected ${m}×${k} and ${k}×${n} values, got ${a.length} and ${b.length}`);
  const s = session(transA, transB, opts.threads ?? defaultThreads());
  const out = s.run(
    { a: new ort.Tensor('float32', a, transA ? [k, m] : [m, k]), b: new ort.Tensor('float32', b, transB ? [n, k] : [k, n]) },
    { c: null },
    {},
  );
  return out.c.data as Float32Array;
}

/**
 * Where search-time products run for a resolved engine: tfjs on tfjs; on ort, ORT's products where the
 * synchronous binding loads. An engine left to the default falls back to tfjs products when the binding
 * does not load; an ort that was asked for is then an error (never a silent fallback).
 */
export function productFor(resolved: ResolvedEngine): Engine {
  if (resolved.engine === 'tfjs') return 'tfjs';
  if (gemmAvailable()) return 'ort';
  if (resolved.chosenBy === 'default') return 'tfjs';
  throw new UserError(`${resolved.chosenBy === 'CZ_ENGINE' ? 'CZ_ENGINE' : '--engine'}=ort: ONNX Runtime products are unavailable: ${bindingError}`);
}

/** The products' engine when the caller names none: the engine resolved by the one rule (lib/backend/engine). */
export function defaultProduct(): Engine {
  return productFor(resolveEngine());
}
