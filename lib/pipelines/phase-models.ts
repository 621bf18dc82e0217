/**
 * Where a reproduce run left its models: each evaluated model by its table label (`finalModels`,
 * `modelDirOf`), and each phase's model with its spec and its parent's model (`phaseModels`) — what a
 * notebook needs to compare a model before and after a phase (the parent's model is "before").
 */
import { UserError } from '../util/errors';
import type { PhaseSpec } from './phase';
import type { PlanFinal } from './plan';
import type { ReproduceSummary } from './reproduce';

export interface PhaseModel {
  id: string;
  spec: PhaseSpec;
  /** The trained model's folder (HF / PyLate layout; `loadEncoder` reads it). */
  modelDir: string;
  /** The phase it started from, and that phase's model folder (null for a phase built from scratch). */
  parent: string | null;
  parentModelDir: string | null;
}

/** Every phase of seed number `seedIndex` (0: the preset's first seed) of a finished, non-dry run, in training order. */
export function phaseModels(summary: ReproduceSummary, seedIndex = 0): PhaseModel[] {
  const run = summary.runs[seedIndex];
  const plan = summary.plans[seedIndex];
  if (!run || !plan) throw new Error(`phaseModels: the run has no seed number ${seedIndex} (a dry run trains nothing)`);
  const dirs = new Map(run.phases.map((p) => [p.id, p.modelDir]));
  const specs = new Map(plan.phases.map((p) => [p.id, p]));
  return run.phases.map((p) => {
    const spec = specs.get(p.id);
    if (!spec) throw new Error(`phaseModels: phase ${p.id} is not in the plan`);
    const parent = 'parent' in spec.init ? spec.init.parent : null;
    return { id: p.id, spec, modelDir: p.modelDir, parent, parentModelDir: parent ? (dirs.get(parent) ?? null) : null };
  });
}

/** The one phase matching `where` (objective, setting, an id prefix such as "c/"); an error names the candidates otherwise. */
export function findPhaseModel(models: PhaseModel[], where: { objective?: PhaseSpec['objective']; setting?: PhaseSpec['setting']; idPrefix?: string }): PhaseModel {
  const hits = models.filter(
    (m) => (!where.objective || m.spec.objective === where.objective) && (!where.setting || m.spec.setting === where.setting) && (!where.idPrefix || m.id.startsWith(where.idPrefix)),
  );
  if (hits.length !== 1) throw new Error(`findPhaseModel: ${hits.length} phases match ${JSON.stringify(where)} (phases: ${models.map((m) => m.id).join(', ')})`);
  return hits[0];
}

export interface FinalModel {
  label: string;
  pipeline: PlanFinal['pipeline'];
  phase: string;
  seed: number;
  /** The trained model's folder (results/models/<phase>-<key>/model); null for a dry run. */
  modelDir: string | null;
}

/**
 * The evaluated models of a reproduce run, per seed, with their folders: e.g. the ColBERT-Zero model is the
 * one labelled '(c) ColBERT-Zero', the dense model that pipeline (a) distils from 'dense supervised'.
 */
export function finalModels(summary: ReproduceSummary): FinalModel[] {
  return summary.plans.flatMap((plan, i) =>
    plan.finals.map((f) => ({
      label: f.label,
      pipeline: f.pipeline,
      phase: f.phase,
      seed: summary.seeds[i],
      modelDir: summary.runs[i]?.phases.find((p) => p.id === f.phase)?.modelDir ?? null,
    })),
  );
}

/** The folder of the model labelled `label` (seed: the first one run); a missing label names the ones there are. */
export function modelDirOf(summary: ReproduceSummary, label: string, seed = summary.seeds[0]): string {
  const all = finalModels(summary);
  const hit = all.find((m) => m.label === label && m.seed === seed);
  if (!hit) throw new UserError(`no model labelled "${label}" for seed ${seed}; the run has: ${[...new Set(all.map((m) => m.label))].join('; ')}`);
  if (hit.modelDir === null) throw new UserError(`"${label}" was not trained (a dry run)`);
  return hit.modelDir;
}
