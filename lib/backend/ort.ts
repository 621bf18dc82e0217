/**
 * ONNX Runtime (the `onnxruntime-node` package: a native CPU build ships inside it) loaded on demand, and
 * sessions with this project's defaults: all cores for one operator (intra-op threads), full graph
 * optimisation, warnings off.
 *
 * Execution providers: `cpu` (default) or `cuda` (`CZ_ORT_PROVIDER=cuda` or the `provider` option). The
 * CUDA provider needs onnxruntime-node's CUDA libraries, which its install step downloads unless
 * ONNXRUNTIME_NODE_INSTALL=skip; it is untested in this project. A provider that cannot start is an error.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { UserError } from '../util/errors';

export type OrtModule = typeof Ort;
export type OrtProvider = 'cpu' | 'cuda';

let loaded: OrtModule | undefined;
let failure: string | undefined;

/** onnxruntime-node, or a UserError saying why it does not load. */
export function loadOrt(): OrtModule {
  if (loaded) return loaded;
  if (failure === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      loaded = require('onnxruntime-node') as OrtModule;
      return loaded;
    } catch (e) {
      failure = (e as Error).message.split('\n')[0];
    }
  }
  throw new UserError(`engine 'ort' could not be loaded: onnxruntime-node: ${failure} (reinstall with npm ci, or use --engine tfjs)`);
}

/** True when onnxruntime-node loads on this machine. */
export function ortAvailable(): boolean {
  try {
    loadOrt();
    return true;
  } catch {
    return false;
  }
}

export interface OrtSessionOptions {
  /** Intra-op threads; default: the machine's cores (os.availableParallelism), or CZ_THREADS. */
  threads?: number;
  /** Execution provider; default CZ_ORT_PROVIDER or 'cpu'. */
  provider?: OrtProvider;
  /** The GPU of the CUDA provider (default 0): one per training device. */
  deviceId?: number;
  /**
   * Flush subnormal floats to zero. Training sets it: a softmax over logits / τ yields probabilities far below
   * float32's smallest normal, and x86 multiplies subnormals ~100× slower; below 1.2e-38 nothing is lost.
   */
  denormalAsZero?: boolean;
  /**
   * ONNX Runtime's memory pattern: one block planned for all of a run's tensors (default on). Training turns
   * it off: its graphs keep many activations for the backward pass, and the planned block measured 1.6× the
   * peak of allocating each tensor from the arena, at the same speed.
   */
  memoryPattern?: boolean;
}

function envThreads(): number | undefined {
  const v = process.env.CZ_THREADS?.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`CZ_THREADS must be a positive integer, got "${v}"`);
  return n;
}

function envProvider(): OrtProvider | undefined {
  const v = process.env.CZ_ORT_PROVIDER?.trim();
  if (!v) return undefined;
  if (v !== 'cpu' && v !== 'cuda') throw new UserError(`CZ_ORT_PROVIDER must be cpu or cuda, got "${v}"`);
  return v;
}

/** The execution provider sessions use by default: CZ_ORT_PROVIDER, else cpu. */
export function defaultProvider(): OrtProvider {
  return envProvider() ?? 'cpu';
}

export function defaultThreads(): number {
  return envThreads() ?? (os.availableParallelism?.() ?? os.cpus().length);
}

/** An inference session on a model file or serialised bytes; `where` names it in errors. */
export async function createSession(model: string | Uint8Array, where: string, opts: OrtSessionOptions = {}): Promise<Ort.InferenceSession> {
  const ort = loadOrt();
  const provider = opts.provider ?? envProvider() ?? 'cpu';
  const options: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: opts.threads ?? defaultThreads(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    logSeverityLevel: 3,
    executionProviders: provider === 'cuda' ? [{ name: 'cuda', deviceId: opts.deviceId ?? 0 }, 'cpu'] : ['cpu'],
    ...(opts.denormalAsZero ? { extra: { session: { set_denormal_as_zero: '1' } } } : {}),
    ...(opts.memoryPattern === false ? { enableMemPattern: false } : {}),
    // CZ_ORT_PROFILE=prefix writes ONNX Runtime's per-operator profile (JSON) for each session.
    ...(process.env.CZ_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.CZ_ORT_PROFILE } : {}),
  };
  try {
    return typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  } catch (e) {
    const reason = (e as Error).message.split('\n')[0];
    if (provider === 'cuda' && /cuda|shared library/i.test(reason)) {
      // onnxruntime's own log line above names a file; say in words what is missing and how to get it.
      const bin = path.join(path.dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', process.platform, process.arch);
      const missing = ['libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_shared.so'].filter((f) => !fs.existsSync(path.join(bin, f)));
      throw new UserError(
        missing.length
          ? `${where}: CZ_ORT_PROVIDER=cuda needs ONNX Runtime's CUDA provider, which is not installed (${missing.join(', ')} missing from ${bin}); install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install (it downloads the provider; the NVIDIA CUDA and cuDNN libraries it links against must be installed: see the README's GPU section), or use CZ_ORT_PROVIDER=cpu`
          : `${where}: CZ_ORT_PROVIDER=cuda: ONNX Runtime's CUDA provider is installed but could not load (${reason}): the NVIDIA CUDA or cuDNN libraries it needs are missing or not on LD_LIBRARY_PATH (the log line above names the file); install them, or use CZ_ORT_PROVIDER=cpu`,
      );
    }
    throw new UserError(`${where}: onnxruntime (${provider}) could not open the model: ${reason}`);
  }
}

/** int64 tensor from int32 ids. */
export function int64Tensor(data: Int32Array, dims: number[]): Ort.Tensor {
  const ort = loadOrt();
  const out = new BigInt64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = BigInt(data[i]);
  return new ort.Tensor('int64', out, dims);
}
