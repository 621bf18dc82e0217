/**
 * The inference engine, resolved in one place: `ort` (ONNX Runtime, native kernels on all cores) or
 * `tfjs` (the library's TensorFlow.js models, the ones training uses). The rule: the argument, else
 * `CZ_ENGINE`, else `ort` when onnxruntime-node loads on this machine and `tfjs` otherwise. A requested
 * engine that cannot load is an error, never a silent fallback. Callers resolve once and pass the result
 * down (encoding and scoring then agree).
 *
 *   const { engine } = resolveEngine(flags.engine);
 */
import { UserError } from '../util/errors';
import { ortAvailable } from './ort';

export type Engine = 'ort' | 'tfjs';
export const ENGINES: readonly Engine[] = ['ort', 'tfjs'];

/** An engine and what chose it (messages name the option or variable that asked for it). */
export interface ResolvedEngine {
  engine: Engine;
  chosenBy: 'argument' | 'CZ_ENGINE' | 'default';
}

export function parseEngine(v: string, where = '--engine'): Engine {
  const s = v.trim();
  if (s !== 'ort' && s !== 'tfjs') throw new UserError(`${where} must be ort or tfjs, got "${v}"`);
  return s;
}

/** The engine to use: `requested`, else CZ_ENGINE, else ort where onnxruntime-node loads, else tfjs. */
export function resolveEngine(requested?: string): ResolvedEngine {
  if (requested) return { engine: parseEngine(requested), chosenBy: 'argument' };
  const env = process.env.CZ_ENGINE?.trim();
  if (env) return { engine: parseEngine(env, 'CZ_ENGINE'), chosenBy: 'CZ_ENGINE' };
  return { engine: ortAvailable() ? 'ort' : 'tfjs', chosenBy: 'default' };
}
