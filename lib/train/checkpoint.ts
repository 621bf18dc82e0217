/**
 * Training checkpoints: the model in its own layout (model.save: HF / PyLate files) plus what resuming
 * needs to continue bit-for-bit — every trainable variable (incl. a learnable temperature), AdamW's
 * moments and step, and the run step (the sampler and dropout seeds are functions of the step).
 * Each checkpoint directory is written atomically; `latest.json` is replaced only after it is complete,
 * so a crash leaves the previous checkpoint usable.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeDirAtomic, writeJsonAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { readJsonFile } from '../util/json';
import type { AdamW } from './optim';
import type { TrainEngine } from './train-engine';
import type { TrainConfig } from './config';

export interface TrainerState {
  /** Optimizer steps completed. */
  step: number;
  seed: number;
  /** The run's config, so a resume with different settings is caught. */
  config?: TrainConfig;
  variables: Array<{ name: string; shape: number[] }>;
}

function concat(arrays: Float32Array[]): Float32Array {
  const out = new Float32Array(arrays.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of arrays) out.set(x, o), (o += x.length);
  return out;
}

function split(all: Float32Array, sizes: number[], where: string): Float32Array[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  if (all.length !== total) throw new UserError(`${where}: holds ${all.length} values, the model needs ${total}`);
  const out: Float32Array[] = [];
  let o = 0;
  for (const s of sizes) out.push(all.slice(o, o + s)), (o += s);
  return out;
}

function readF32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function checkpointDir(output: string, step: number): string {
  return path.join(output, 'checkpoints', `step-${String(step).padStart(7, '0')}`);
}

/** Settings that may change between a run and its resumption (how it runs, not what it computes). */
const MAY_CHANGE = new Set(['devices', 'deviceTransport', 'logEvery', 'checkpointEvery', 'keepCheckpoints', 'eval', 'output', 'engine']);

/** The first setting (dotted path) that differs between two configs, ignoring MAY_CHANGE. */
function firstDifference(a: unknown, b: unknown, at = ''): string | null {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return JSON.stringify(a) === JSON.stringify(b) ? null : at || '(root)';
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    if (!at && MAY_CHANGE.has(k)) continue;
    const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], at ? `${at}.${k}` : k);
    if (d) return d;
  }
  return null;
}

export async function saveCheckpoint(output: string, step: number, config: TrainConfig, engine: TrainEngine, opt: AdamW): Promise<string> {
  const dir = checkpointDir(output, step);
  const keep = config.keepCheckpoints;
  const state: TrainerState = { step, seed: config.seed, config, variables: engine.variables };
  const os = opt.getState();
  const model = engine.syncedModel();
  await writeDirAtomic(dir, async (tmp) => {
    if (model.save) await model.save(path.join(tmp, 'model'));
    fs.mkdirSync(path.join(tmp, 'trainer'));
    fs.writeFileSync(path.join(tmp, 'trainer', 'state.json'), JSON.stringify({ ...state, optimizerStep: os.step, engine: engine.engine }, null, 2));
    fs.writeFileSync(path.join(tmp, 'trainer', 'variables.bin'), engine.params);
    fs.writeFileSync(path.join(tmp, 'trainer', 'optimizer.bin'), concat([os.m, os.v]));
  });
  writeJsonAtomic(path.join(output, 'checkpoints', 'latest.json'), { step, dir: path.basename(dir) });
  // Older checkpoints beyond `keep` go only after the new one is in place.
  const all = fs.readdirSync(path.join(output, 'checkpoints')).filter((d) => /^step-\d+$/.test(d)).sort();
  for (const d of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(output, 'checkpoints', d), { recursive: true, force: true });
  return dir;
}

/** The latest complete checkpoint directory, or null. */
export function latestCheckpoint(output: string): string | null {
  const p = path.join(output, 'checkpoints', 'latest.json');
  if (!fs.existsSync(p)) return null;
  const { dir } = readJsonFile<{ dir: string }>(p);
  const full = path.join(output, 'checkpoints', dir);
  return fs.existsSync(path.join(full, 'trainer', 'state.json')) ? full : null;
}

/**
 * Restores the engine's parameters and the optimizer state (call engine.paramsChanged() after); returns the
 * state with the step to continue from. Checkpoints of either engine load in either (the same flat layout).
 */
export function loadCheckpoint(dir: string, engine: TrainEngine, opt: AdamW, config?: TrainConfig): TrainerState {
  const where = path.join(dir, 'trainer');
  const state = readJsonFile<TrainerState & { optimizerStep: number }>(path.join(where, 'state.json'));
  if (config && state.config) {
    const d = firstDifference(JSON.parse(JSON.stringify(config)), state.config);
    if (d) throw new UserError(`${where}: the checkpoint was trained with a different "${d}" than the config; resuming would not continue the same run`);
  }
  const variables = engine.variables;
  if (state.variables.length !== variables.length) throw new UserError(`${where}: checkpoint has ${state.variables.length} variables, the model has ${variables.length}`);
  state.variables.forEach((v, i) => {
    const s = variables[i].shape;
    if (v.shape.length !== s.length || v.shape.some((d, j) => d !== s[j])) throw new UserError(`${where}: variable ${i} (${v.name}) has shape [${v.shape}], the model's is [${s}]`);
  });
  const n = engine.params.length;
  const [values] = split(readF32(path.join(where, 'variables.bin')), [n], path.join(where, 'variables.bin'));
  engine.params.set(values);
  const [m, v] = split(readF32(path.join(where, 'optimizer.bin')), [n, n], path.join(where, 'optimizer.bin'));
  opt.setState({ step: state.optimizerStep, m, v });
  return state;
}
