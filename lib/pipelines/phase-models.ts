/**
 * Where a reproduce run left each phase's model, with the phase's spec and its parent's model: what a
 * notebook needs to compare a model before and after a phase (the parent's model is "before").
 */
import type { PhaseSpec } from './phase';
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
