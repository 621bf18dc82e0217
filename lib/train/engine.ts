/**
 * Choosing and creating the engine of a training run: `ort` (ONNX Runtime's native kernels on every core,
 * or CUDA; ./ort/) or `tfjs` (TensorFlow.js, the reference the tests compare with, and the fallback). Both
 * implement ./train-engine.ts's TrainEngine.
 *
 * Choosing: `train --engine`, else the config's `engine`, else CZ_ENGINE, else ort where onnxruntime-node
 * loads (a user's module model trains on tfjs), else tfjs. A named engine that cannot run is an error.
 */
import type { TrainConfig } from './config';
import type { Transport } from './devices/transport';
import { resolveEngine, type Engine } from '../backend/engine';
import { loadOrt } from '../backend/ort';
import { TfjsEngine } from './tfjs-engine';
import type { TrainEngine } from './train-engine';

/**
 * The engine a run uses: `requested` (--engine), else CZ_ENGINE, else ort where onnxruntime-node loads and
 * the model is one ort can train (a user's module model trains on tfjs), else tfjs.
 */
export function chooseEngine(config: TrainConfig, requested?: string): Engine {
  const { engine, chosenBy } = resolveEngine(requested);
  if (chosenBy === 'default' && config.model.type === 'module') return 'tfjs';
  if (engine === 'ort') loadOrt(); // a named ort that cannot load fails here, with the reason
  return engine;
}

/** Builds the config's model and the engine that trains it on this rank. */
export async function createEngine(config: TrainConfig, t: Transport, engine: Engine, opts: { threads?: number } = {}): Promise<TrainEngine> {
  const { buildModel } = require('./model-factory') as typeof import('./model-factory');
  const model = await buildModel(config);
  if (engine === 'tfjs') return new TfjsEngine(config, model, t.rank);
  const { createOrtEngine } = require('./ort/engine') as typeof import('./ort/engine');
  try {
    return createOrtEngine(config, model, t, opts);
  } catch (e) {
    (model as { dispose?: () => void }).dispose?.();
    throw e;
  }
}
