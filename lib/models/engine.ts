/**
 * The inference engine: `ort` (ONNX Runtime, native kernels on all cores; the model is exported to
 * model.onnx beside the checkpoint on first use) or `tfjs` (the library's TensorFlow.js models, the ones
 * training uses). Chosen by argument, else `CZ_ENGINE`, else `ort` when onnxruntime-node loads on this
 * machine and `tfjs` otherwise. A requested engine that cannot load is an error, never a silent fallback.
 *
 *   const enc = await openEncoder('path/to/model');                 // ort where it loads
 *   const enc = await openEncoder('path/to/model', { engine: 'tfjs' });
 */
import { UserError } from '../util/errors';
import { threadCount } from '../util/limits';
import { ColbertModel, type ColbertLoadOptions } from './colbert';
import { DenseModel } from './dense';
import type { Encoder } from './encoder';
import type { HeadKind } from '../scores/encoded';
import { loadEncoder } from './load';
import { OrtEncoder } from './onnx/ort-encoder';
import { ortAvailable, loadOrt, type OrtSessionOptions } from '../backend/ort';

export type Engine = 'ort' | 'tfjs';
export const ENGINES: readonly Engine[] = ['ort', 'tfjs'];

export function parseEngine(v: string, where = '--engine'): Engine {
  const s = v.trim();
  if (s !== 'ort' && s !== 'tfjs') throw new UserError(`${where} must be ort or tfjs, got "${v}"`);
  return s;
}

/** The engine to use: `requested`, else CZ_ENGINE, else ort where onnxruntime-node loads, else tfjs. */
export function resolveEngine(requested?: string): { engine: Engine; chosenBy: 'argument' | 'CZ_ENGINE' | 'default' } {
  if (requested) return { engine: parseEngine(requested), chosenBy: 'argument' };
  const env = process.env.CZ_ENGINE?.trim();
  if (env) return { engine: parseEngine(env, 'CZ_ENGINE'), chosenBy: 'CZ_ENGINE' };
  return { engine: ortAvailable() ? 'ort' : 'tfjs', chosenBy: 'default' };
}

/** An opened encoder, whichever the engine: `Encoder` plus `dispose`. */
export type EngineEncoder = Encoder & { dispose(): void; readonly kind: HeadKind };

export interface OpenEncoderOptions extends OrtSessionOptions {
  engine?: string;
  fallback?: HeadKind;
  colbert?: ColbertLoadOptions;
}

/** Opens a model folder on the chosen engine (see resolveEngine). */
export async function openEncoder(dir: string, opts: OpenEncoderOptions = {}): Promise<EngineEncoder & { engine: Engine }> {
  const { engine } = resolveEngine(opts.engine);
  if (engine === 'ort') {
    loadOrt(); // a forced ort that cannot load fails here, with the reason
    return OrtEncoder.open(dir, { ...opts, threads: threadCount(opts.threads, 'threads') });
  }
  const model = await loadEncoder(dir, { fallback: opts.fallback, colbert: opts.colbert });
  return Object.assign(model, { engine: 'tfjs' as const });
}

/**
 * An in-memory tfjs model (e.g. during training) on the chosen engine, for evaluation: on ort its current
 * weights become an in-memory graph (release it with dispose); on tfjs, or for a model that is not one
 * of the library's ModernBERT encoders, the model itself (dispose is then a no-op).
 */
export async function encoderForModel(model: Encoder, opts: { engine?: string } & OrtSessionOptions = {}): Promise<{ encoder: Encoder; dispose(): void }> {
  const { engine } = resolveEngine(opts.engine);
  if (engine === 'ort' && (model instanceof ColbertModel || model instanceof DenseModel)) {
    loadOrt();
    const enc = await OrtEncoder.fromModel(model, { ...opts, threads: threadCount(opts.threads, 'threads') });
    return { encoder: enc, dispose: () => enc.dispose() };
  }
  return { encoder: model, dispose: () => {} };
}
