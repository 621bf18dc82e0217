/**
 * The plan runner: every phase of a plan in parent-first order, each trained at most once
 * (lib/pipelines/plan-training.ts), then every evaluated model on the test sets, one result file each
 * (lib/pipelines/plan-evaluation.ts).
 *
 * A phase's folder is named by its key (config + parent's key + data checksums, lib/pipelines/phase.ts;
 * the folder's layout: lib/report/layout.ts). Its record, `phase.json`, marks it finished: a second call
 * with nothing changed trains nothing. A folder without a record is an interrupted phase: training resumes
 * from its last checkpoint. An evaluation whose result file exists for the same model fingerprint and data
 * is not repeated. A phase is trained by one process at a time (`models/.<phase>-<key>.lock`): a second one
 * stops, naming the first.
 */
import { makeDirs } from '../util/fs-errors';
import { ResultsFolder } from '../report/layout';
import type { Plan } from './plan';
import { checkDiskSpace, keyPhases, trainPhases, type FinishedPhase, type TrainingOptions } from './plan-training';
import { dataChecksums, evaluatePlan, type EvaluationSettings } from './plan-evaluation';

export interface RunPlanOptions extends TrainingOptions, EvaluationSettings {
  /** Everything goes under it (lib/report/layout.ts): models/<phase>-<key>/ and runs/<preset>-<label>-seed<k>.json. */
  resultsDir: string;
  /** Progress lines (one per phase and evaluation) go here; stderr by default. */
  log?: (line: string) => void;
  /** Disk bytes each phase needs (default: estimated from the backbone's size). */
  bytesPerPhase?: number;
}

export interface RunPlanSummary {
  phases: FinishedPhase[];
  results: string[];
  /** Phases that trained at least one step in this call (a resumed phase counts; one with no step left does not). */
  trainedPhases: number;
  /** Optimizer steps trained in this call, over all phases. */
  trainedSteps: number;
  evaluated: number;
}

/** Trains what is missing and evaluates every model of the plan; see the module comment. */
export async function runPlan(plan: Plan, o: RunPlanOptions): Promise<RunPlanSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const folder = new ResultsFolder(o.resultsDir);
  const checksums = new Map<string, string>();
  const phases = keyPhases(plan, folder, checksums);
  makeDirs(o.resultsDir, 'results');
  checkDiskSpace(o.resultsDir, phases.filter((p) => !p.folder.hasRecord()).map((p) => p.spec), o.bytesPerPhase);
  const started = Date.now();
  const { records, trained, trainedSteps } = await trainPhases(phases, o, log);
  const { results, evaluated } = await evaluatePlan(plan, records, o, folder, dataChecksums(checksums, o.testSets), log);
  log(`plan done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${trained} phases trained (${trainedSteps} steps), ${phases.length - trained} reused; ${evaluated} evaluations`);
  return { phases: [...records.values()], results, trainedPhases: trained, trainedSteps, evaluated };
}
