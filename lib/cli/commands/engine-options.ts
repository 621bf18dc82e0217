/** `--engine` and `--threads`, shared by the commands that encode (encode, score, index, search). */
import type { Command } from 'commander';
import { openEncoder, resolveEngine, type Engine, type EngineEncoder } from '../../models/engine';
import { UserError } from '../../util/errors';
import { positiveInt } from '../options';

export interface EngineFlags {
  engine?: string;
  threads?: number;
  workers?: number;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--engine <name>', 'ort (ONNX Runtime: model.onnx is built beside the model on first use) or tfjs; default: CZ_ENGINE, else ort where onnxruntime-node loads')
    .option('--threads <n>', "threads: ONNX Runtime's for encoding, and for search the worker threads the documents are split across (default: all cores, or CZ_THREADS)", positiveInt);
}

/**
 * The engine these flags select. `--workers` > 1 means tfjs workers (ort spreads one model over
 * `--threads`): without an engine named by --engine or CZ_ENGINE it selects tfjs; with ort named it is an error.
 */
export function engineOf(flags: EngineFlags): Engine {
  const workers = (flags.workers ?? 1) > 1;
  const { engine, chosenBy } = resolveEngine(flags.engine);
  if (workers && chosenBy === 'default') return 'tfjs';
  if (engine === 'ort' && workers) {
    throw new UserError(`--workers ${flags.workers} runs tfjs copies of the model; the ort engine (${chosenBy === 'argument' ? '--engine' : chosenBy}) uses --threads instead`);
  }
  if (engine === 'tfjs' && flags.threads !== undefined) throw new UserError('--threads applies to the ort engine; tfjs uses --workers');
  return engine;
}

export function openModel(dir: string, flags: EngineFlags): Promise<EngineEncoder> {
  return openEncoder(dir, { engine: engineOf(flags), threads: flags.threads });
}
