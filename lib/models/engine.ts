/**
 * `loadEncoder`, the one way to get an encoder: a model folder (a path or an open `ModelFolder`) or a
 * model in memory, on the engine the caller resolved (`resolveEngine`, lib/backend/engine: the argument,
 * else CZ_ENGINE, else ort where onnxruntime-node loads, else tfjs).
 *
 *   const model = await loadEncoder('path/to/model');                          // the tfjs model itself (trainable)
 *   const enc = await loadEncoder('path/to/model', { engine: resolveEngine().engine });
 *   const enc = await loadEncoder(ModelFolder.open(dir), { engine: 'ort', threads: 4 });
 *   const ev = await loadEncoder(trainingModel, { engine: 'ort' });            // current weights, in memory
 *
 * On `ort` a folder's model.onnx is built beside it on first use (lib/models/onnx/export.ts).
 */
import { threadCount } from '../util/limits';
import { parseEngine, type Engine } from '../backend/engine';
import { ColbertModel } from './colbert';
import { DenseModel } from './dense';
import type { Encoder } from './encoder';
import type { HeadKind } from '../scores/encoded';
import { loadTfjsModel, type TfjsLoadOptions } from './load';
import { ModelFolder } from './model-folder';
import { OrtEncoder } from './onnx/ort-encoder';
import { loadOrt, type OrtSessionOptions } from '../backend/ort';

/** An opened encoder, whichever the engine: `Encoder` plus `dispose` (which releases only what loadEncoder made). */
export type EngineEncoder = Encoder & { dispose(): void; readonly kind: HeadKind; readonly engine: Engine };

export interface LoadEncoderOptions extends TfjsLoadOptions, OrtSessionOptions {
  /** ort or tfjs, resolved by the caller. Unset: the folder's tfjs model itself (a folder source only). */
  engine?: Engine;
}

/** A model folder's tfjs model (ColbertModel or DenseModel, by layout): trainable, inspectable. */
export function loadEncoder(source: string | ModelFolder, opts?: TfjsLoadOptions & { engine?: undefined }): Promise<ColbertModel | DenseModel>;
/** A model folder on an engine. */
export function loadEncoder(source: string | ModelFolder, opts: LoadEncoderOptions & { engine: Engine }): Promise<EngineEncoder>;
/**
 * A model in memory (e.g. during training) on an engine, for evaluation: on ort a library ModernBERT
 * model's current weights become an in-memory graph (released by dispose); on tfjs, or for a model that is
 * not one of the library's, the model itself (dispose then leaves it alone).
 */
export function loadEncoder(model: Encoder, opts: { engine: Engine } & OrtSessionOptions): Promise<EngineEncoder>;
export async function loadEncoder(source: string | ModelFolder | Encoder, opts: LoadEncoderOptions = {}): Promise<EngineEncoder | ColbertModel | DenseModel> {
  const engine = opts.engine === undefined ? undefined : parseEngine(opts.engine, 'engine');
  if (typeof source !== 'string' && !(source instanceof ModelFolder)) return inMemory(source, engine ?? 'tfjs', opts);
  if (engine === 'ort') {
    loadOrt(); // an ort that cannot load fails here, with the reason
    return OrtEncoder.open(source, { ...opts, threads: threadCount(opts.threads, 'threads') });
  }
  const model = await loadTfjsModel(source, { fallback: opts.fallback, colbert: opts.colbert, dense: opts.dense });
  return engine ? Object.assign(model, { engine }) : model;
}

async function inMemory(model: Encoder, engine: Engine, opts: OrtSessionOptions): Promise<EngineEncoder> {
  if (engine === 'ort' && (model instanceof ColbertModel || model instanceof DenseModel)) {
    loadOrt();
    return OrtEncoder.fromModel(model, { ...opts, threads: threadCount(opts.threads, 'threads') });
  }
  return { kind: model.kind, dim: model.dim, engine: 'tfjs', encode: (texts, role, o) => model.encode(texts, role, o), dispose: () => {} };
}
