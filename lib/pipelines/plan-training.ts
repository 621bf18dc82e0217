/**
 * The training half of the plan runner: every phase in parent-first order, each trained at most once. A
 * finished phase (its record, lib/report/layout.ts) is reused; an interrupted one resumes from its last
 * checkpoint; one process at a time trains a phase (its lock).
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { claimLock } from '../util/lock';
import { parameterCount, presetConfig } from '../models/config';
import { latestCheckpoint } from '../train/checkpoint';
import { train } from '../train/launch';
import type { PhaseFolder, ResultsFolder } from '../report/layout';
import { orderPhases, phaseKey, phaseTrainConfig, type PhaseSpec } from './phase';
import type { Plan } from './plan';

/** How phases train: the validation sets evaluated during training, and the engine. */
export interface TrainingOptions {
  /** Evaluated during training (the validation set), recorded in each phase's eval.jsonl. */
  validation?: Array<{ name: string; dir: string; split: string }>;
  /** The training engine (ort or tfjs; default: CZ_ENGINE, else ort where it loads), recorded with each phase. */
  engine?: string;
}

/** A phase of the plan as this call left it: trained now, or found finished. */
export interface FinishedPhase {
  id: string;
  key: string;
  dir: string;
  modelDir: string;
  /** Trained at least one step in this call. */
  trained: boolean;
  seconds: number;
  examplesPerSecond?: number;
  /** The engine that trained it (absent in some records). */
  engine?: string;
}

/**
 * Refuses to start when the disk cannot hold what the phases left to train will write: per phase the
 * model, one checkpoint (weights and AdamW's two moments) and the saved model, ~5 copies of the weights.
 */
export function checkDiskSpace(dir: string, phases: PhaseSpec[], bytesPerPhase?: number): void {
  if (phases.length === 0) return;
  const preset = phases[0].init && 'preset' in phases[0].init ? phases[0].init.preset : null;
  const cfg = preset ? presetConfig(preset) : null;
  const params = cfg ? parameterCount(cfg) : 150e6; // a checkpoint's phases: ModernBERT-base's size
  const need = phases.length * (bytesPerPhase ?? 5 * 4 * params);
  const st = fs.statfsSync(dir);
  const free = Number(st.bavail) * Number(st.bsize);
  if (free < need) throw new UserError(`${dir}: ${(free / 1e9).toFixed(2)} GB free, the ${phases.length} phases left to train need about ${(need / 1e9).toFixed(2)} GB (models and checkpoints); free some space or choose another --results`);
}

export type Log = (line: string) => void;

/** A phase with its key, its parent's key and its folder. */
export interface KeyedPhase {
  spec: PhaseSpec;
  key: string;
  parentKey: string | null;
  folder: PhaseFolder;
}

/**
 * The plan's phases in parent-first order with their keys. A missing data file or an unknown parent fails
 * here, before any training. `checksums` collects the data files' hashes.
 */
export function keyPhases(plan: Plan, folder: ResultsFolder, checksums: Map<string, string>): KeyedPhase[] {
  const keys = new Map<string, string>();
  return orderPhases(plan.phases).map((spec) => {
    const parentKey = 'parent' in spec.init ? keys.get(spec.init.parent)! : null;
    const key = phaseKey(spec, parentKey, checksums);
    keys.set(spec.id, key);
    return { spec, key, parentKey, folder: folder.phase(spec.id, key) };
  });
}

/** Minutes of training left, from the seconds per example-step measured on the phases trained so far, per objective. */
class TrainingClock {
  private readonly rate = new Map<string, number>();

  measured(p: PhaseSpec, seconds: number, steps: number): void {
    if (steps > 0) this.rate.set(p.objective, seconds / (steps * p.hyper.batchSize));
  }

  /** ", about N min of training left", or '' before any phase was measured. */
  left(phases: KeyedPhase[]): string {
    const seconds = phases.filter((q) => !q.folder.hasRecord()).reduce((s, q) => s + this.estimate(q.spec), 0);
    return Number.isFinite(seconds) ? `, about ${Math.max(1, Math.round(seconds / 60))} min of training left` : '';
  }

  private estimate(p: PhaseSpec): number {
    return (this.rate.get(p.objective) ?? [...this.rate.values()][0] ?? NaN) * p.hyper.steps * p.hyper.batchSize;
  }
}

/** A finished phase's record, with its parent's key added where the record lacks it (the report walks a pipeline's phases by it). */
function reusePhase(p: KeyedPhase): FinishedPhase {
  const done = p.folder.readRecord();
  p.folder.addParentKey(p.parentKey);
  return { ...done, dir: p.folder.dir, modelDir: p.folder.modelDir, trained: false };
}

/**
 * Trains one phase under its lock, resuming from its last checkpoint, and writes its record. `steps` is
 * absent when another process finished the phase between the caller's check and the lock.
 */
async function trainPhase(p: KeyedPhase, parent: FinishedPhase | undefined, o: TrainingOptions, clock: TrainingClock): Promise<{ record: FinishedPhase; steps?: { start: number; end: number } }> {
  const { spec, folder } = p;
  const config = phaseTrainConfig(spec, { parentModel: parent?.modelDir, output: folder.dir, evalDirs: (o.validation ?? []).map((v) => ({ dir: v.dir, name: v.name, split: v.split })) });
  const release = claimLock(folder.lockFile, `phase ${spec.id} (${folder.dir})`);
  try {
    if (folder.isFinished()) return { record: { ...folder.readRecord(), dir: folder.dir, modelDir: folder.modelDir, trained: false } };
    const t0 = Date.now();
    const summary = await train(config, { resume: latestCheckpoint(folder.dir) !== null, engine: o.engine });
    const seconds = (Date.now() - t0) / 1000;
    const steps = summary.steps - summary.startStep;
    clock.measured(spec, seconds, steps);
    const record: FinishedPhase = { id: spec.id, key: p.key, dir: folder.dir, modelDir: folder.modelDir, trained: steps > 0, seconds, examplesPerSecond: steps > 0 ? (steps * spec.hyper.batchSize) / seconds : undefined, engine: summary.engine };
    folder.writeRecord({ ...record, parentKey: p.parentKey, spec: { ...spec }, finalLoss: summary.finalLoss, lastEval: summary.lastEval ?? null });
    return { record, steps: { start: summary.startStep, end: summary.steps } };
  } finally {
    release();
  }
}

/** Trains every phase not finished yet, in order; returns each phase's record by id and what this call trained. */
export async function trainPhases(phases: KeyedPhase[], o: TrainingOptions, log: Log): Promise<{ records: Map<string, FinishedPhase>; trained: number; trainedSteps: number }> {
  const records = new Map<string, FinishedPhase>();
  const clock = new TrainingClock();
  let trained = 0;
  let trainedSteps = 0;
  for (const [i, p] of phases.entries()) {
    const at = `[${i + 1}/${phases.length}] ${p.spec.id}`;
    if (p.folder.isFinished()) {
      records.set(p.spec.id, reusePhase(p));
      log(`${at}: done before (${p.key})`);
      continue;
    }
    log(`${at}: training ${p.spec.objective} ${p.spec.setting}, ${p.spec.hyper.steps} steps of ${p.spec.hyper.batchSize}${clock.left(phases.slice(i))}`);
    const parent = 'parent' in p.spec.init ? records.get(p.spec.init.parent) : undefined;
    const { record, steps: range } = await trainPhase(p, parent, o, clock);
    records.set(p.spec.id, record);
    if (!range) {
      log(`${at}: done meanwhile by another run (${p.key})`);
      continue;
    }
    const steps = range.end - range.start;
    // Where an interrupted phase picked up: the steps this call trained, and the checkpoint it resumed from.
    const from = range.start > 0 ? ` (resumed from the checkpoint of step ${range.start})` : '';
    log(`${at}: ${steps > 0 ? `trained steps ${range.start + 1}-${range.end}` : 'no step left to train'}${from}`);
    if (steps > 0) trained++;
    trainedSteps += steps;
  }
  return { records, trained, trainedSteps };
}
