/**
 * A results folder, as `reproduce` fills it and the report reads it:
 *
 *   <root>/.colbert-zero-lock            held while a run fills the folder
 *   <root>/data/<source>/                a preset's data, built once
 *   <root>/models/<phase>-<key>/         one phase's training output; `phase.json` (its record) marks it
 *                                        finished, `model/` is its trained model
 *   <root>/models/.<phase>-<key>.lock    held while a process trains that phase
 *   <root>/runs/<id>.json                one result file per evaluation (lib/report/results.ts)
 *   <root>/report/                       report.md, report.json and the figures
 *
 * Every path is spelled here, and the phase record has its schema here: its writer (the plan runner) and
 * its readers (the runner, the report's cost per pipeline) go through `ResultsFolder` and `PhaseFolder`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { readJsonFile } from '../util/json';
import { resultPath } from './results';

/**
 * `models/<phase>-<key>/phase.json`. Loose: the record keeps the whole phase spec and the training summary,
 * and only the fields below are read back. `dir`, `modelDir`, `trained`, `engine` and `parentKey` are absent
 * from some records (written by hand, or without those fields); such records still read.
 */
const phaseRecordSchema = z.looseObject({
  /** The phase's id in its plan ("c/kd-colbert-p111-l11"). */
  id: z.string().min(1),
  /** The phase's key (its config, its parent's key and its data's checksums). */
  key: z.string().min(1),
  /** The parent phase's key; null for a phase from a random init. */
  parentKey: z.string().nullable().optional(),
  /** Training seconds of the call that finished the phase. */
  seconds: z.number(),
  trained: z.boolean().optional(),
  examplesPerSecond: z.number().optional(),
  /** The engine that trained it (ort or tfjs). */
  engine: z.string().optional(),
  /** Where the phase and its model were when the record was written (the folder may have moved since). */
  dir: z.string().optional(),
  modelDir: z.string().optional(),
  /** The phase spec (lib/pipelines/phase.ts); its objective, setting and parent are read back. */
  spec: z.looseObject({
    objective: z.string(),
    setting: z.string(),
    init: z.looseObject({ parent: z.string().optional() }).optional(),
  }),
  finalLoss: z.number().nullable().optional(),
  lastEval: z.unknown().optional(),
});
export type PhaseRecord = z.infer<typeof phaseRecordSchema>;

function parsePhaseRecord(value: unknown, file: string): PhaseRecord {
  const r = phaseRecordSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new UserError(`${file}: not a phase record ("${issue.path.join('.') || '(top level)'}": ${issue.message})`);
}

/** One phase's folder under `models/`. */
export class PhaseFolder {
  constructor(readonly dir: string) {}

  /** The record that marks the phase finished. */
  get recordFile(): string {
    return path.join(this.dir, 'phase.json');
  }

  /** The trained model (HF / PyLate layout). */
  get modelDir(): string {
    return path.join(this.dir, 'model');
  }

  /** Beside the phase's folder, not in it: a training output must be new, empty or a run's own. */
  get lockFile(): string {
    return path.join(path.dirname(this.dir), `.${path.basename(this.dir)}.lock`);
  }

  /** Has a record (training ended); an interrupted phase has none yet. */
  hasRecord(): boolean {
    return fs.existsSync(this.recordFile);
  }

  /** Has a record and its model: nothing left to train. */
  isFinished(): boolean {
    return this.hasRecord() && fs.existsSync(this.modelDir);
  }

  readRecord(): PhaseRecord {
    return parsePhaseRecord(readJsonFile(this.recordFile), this.recordFile);
  }

  /** Validates the record as it will read back (JSON: NaN becomes null) and writes it atomically. */
  writeRecord(record: PhaseRecord): void {
    parsePhaseRecord(JSON.parse(JSON.stringify(record)), this.recordFile);
    writeJsonAtomic(this.recordFile, record);
  }

  /** Adds `parentKey` to a record that lacks it (the report walks a pipeline's phases by it); the rest is kept as written. */
  addParentKey(parentKey: string | null): void {
    const raw = readJsonFile(this.recordFile);
    const record = parsePhaseRecord(raw, this.recordFile);
    if (record.parentKey === undefined) writeJsonAtomic(this.recordFile, { ...raw, parentKey });
  }
}

/** A results folder: the paths of everything a run writes under `root`. */
export class ResultsFolder {
  constructor(readonly root: string) {}

  /** Held while a run fills the folder. */
  get lockFile(): string {
    return path.join(this.root, '.colbert-zero-lock');
  }

  get modelsDir(): string {
    return path.join(this.root, 'models');
  }

  /** The result files (`runs/<id>.json`). */
  get runsDir(): string {
    return path.join(this.root, 'runs');
  }

  get reportDir(): string {
    return path.join(this.root, 'report');
  }

  /** A preset's data, by its source (synthetic, wordnet). */
  dataDir(source: string): string {
    return path.join(this.root, 'data', source);
  }

  resultFile(id: string): string {
    return resultPath(this.runsDir, id);
  }

  /** The folder of the phase `id` with key `key`: `models/<id, path-safe>-<key>`. */
  phase(id: string, key: string): PhaseFolder {
    return new PhaseFolder(path.join(this.modelsDir, `${id.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${key}`));
  }

  /** Every entry under `models/` as a phase folder, by name (none when there is no models folder); lock files have no record. */
  phases(): PhaseFolder[] {
    if (!fs.existsSync(this.modelsDir)) return [];
    return fs
      .readdirSync(this.modelsDir)
      .sort()
      .map((name) => new PhaseFolder(path.join(this.modelsDir, name)));
  }
}
