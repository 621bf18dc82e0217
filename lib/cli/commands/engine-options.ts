/** `--engine` and `--threads`, shared by the commands that encode (encode, score, index, search). */
import type { Command } from 'commander';
import { ENGINES, resolveEngine, type ResolvedEngine } from '../../backend/engine';
import { loadEncoder, type EngineEncoder } from '../../models/engine';
import type { ModelFolder } from '../../models/model-folder';
import { UsageError } from '../../util/errors';
import { threadCount } from '../../util/limits';
import { oneOf, positiveInt } from '../options';

export interface EngineFlags {
  engine?: string;
  threads?: number;
  workers?: number;
}

/** What `--threads` sets for this command: the encoder's threads, and for `search` its search threads too. */
export interface EngineUse {
  /** The command has `--workers` (tfjs copies of the model). */
  workers?: boolean;
  /** `--threads` also sets the search's threads (search), so it applies whatever the engine. */
  search?: boolean;
}

export function addEngineOptions(cmd: Command, use: EngineUse = {}): Command {
  const threads = use.search
    ? "threads: ONNX Runtime's for encoding (ort engine), and the worker threads the documents are split across for the search"
    : "ONNX Runtime's threads (ort engine)";
  return cmd
    .option('--engine <name>', 'ort (ONNX Runtime: model.onnx is built beside the model on first use) or tfjs; default: CZ_ENGINE, else ort where onnxruntime-node loads', oneOf(...ENGINES))
    .option('--threads <n>', `${threads} (default: all cores, or CZ_THREADS; more than the cores is lowered to the cores, with a warning)`, positiveInt);
}

/**
 * The engine these flags select, resolved once for the whole command (encoding and, for search, scoring).
 * `--workers` > 1 means tfjs workers (ort spreads one model over `--threads`): without an engine named by
 * --engine or CZ_ENGINE it selects tfjs; with ort named it is a usage error, as is `--threads` for tfjs
 * encoding (unless the command's search takes it).
 */
export function engineOf(flags: EngineFlags, use: EngineUse = {}): ResolvedEngine {
  const workers = (flags.workers ?? 1) > 1;
  const resolved = resolveEngine(flags.engine);
  const { engine, chosenBy } = resolved;
  if (workers && chosenBy === 'default') return { engine: 'tfjs', chosenBy };
  if (engine === 'ort' && workers) {
    throw new UsageError(`--workers ${flags.workers} runs tfjs copies of the model; the ort engine (${chosenBy === 'argument' ? '--engine' : chosenBy}) uses --threads instead`);
  }
  if (engine === 'tfjs' && flags.threads !== undefined && !use.search) {
    throw new UsageError(`--threads sets ONNX Runtime's threads; the tfjs engine encodes on one thread per model${use.workers ? ': use --workers N for more' : ''}`);
  }
  return resolved;
}

/** Opens the model on the resolved engine; ONNX Runtime's threads capped at the cores. */
export function openModel(folder: ModelFolder, resolved: ResolvedEngine, flags: EngineFlags): Promise<EngineEncoder> {
  const { engine } = resolved;
  return loadEncoder(folder, { engine, threads: engine === 'ort' ? threadCount(flags.threads) : undefined });
}
