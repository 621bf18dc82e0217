/**
 * The paper's three ways to a ColBERT, from the same backbone and data (Table 2), as phase graphs:
 *
 *   backbone: MLM ─► unsupervised (dense) ─► supervised (dense)                    [Nomic's dense phases]
 *   (a) KD-only          supervised (dense) ─► KD (ColBERT)
 *   (b) supervised + KD  unsupervised (dense) ─► supervised (ColBERT) ─► KD (ColBERT)
 *   (c) ColBERT-Zero     MLM ─► unsupervised (ColBERT) ─► supervised (ColBERT) ─► KD (ColBERT)
 *
 * and the prompt / length ablations of Tables 3–5 as variants of (c)'s phases. Phases shared between
 * pipelines keep one id, so they are trained once (lib/pipelines/plan-runner.ts caches them by key).
 */
import { UserError } from '../util/errors';
import type { Objective, PhaseHyper, PhaseSpec, Setting } from './phase';

export type PipelineName = 'a' | 'b' | 'c';
export const PIPELINES: Record<PipelineName, string> = {
  a: 'KD-only (distil a ColBERT from the dense supervised model)',
  b: 'supervised + KD as ColBERT (from the dense unsupervised model)',
  c: 'ColBERT-Zero (every phase as ColBERT)',
};

/** The data files of each objective. */
export interface PlanData {
  mlm: string[];
  unsupervised: string[];
  supervised: string[];
  distillation: string[];
}

/** What a scale fixes for every phase of a plan. */
export interface PlanScale {
  /** Random architecture the backbone's MLM phase starts from. */
  backbone: { preset: string; vocabSize?: number; tokenizer?: string };
  /** ColBERT projection size. */
  dim: number;
  hyper: Record<Objective, PhaseHyper>;
  /** Tokens "+Length" adds (the paper: 7). */
  lengthExtra?: number;
}

/** The ablation switches (Tables 3–5): prompts and "+Length" per stage. Defaults: the paper's main setting, all on. */
export interface Ablation {
  unsupervisedPrompts: boolean;
  supervisedPrompts: boolean;
  supervisedLength: boolean;
  kdPrompts: boolean;
  kdLength: boolean;
}

export const MAIN_SETTING: Ablation = { unsupervisedPrompts: true, supervisedPrompts: true, supervisedLength: true, kdPrompts: true, kdLength: true };

/** A model a plan evaluates: a label for tables, the pipeline it ends, and the phase whose model it is. */
export interface PlanFinal {
  label: string;
  /** null: a model of no pipeline (e.g. the dense supervised model pipelines (a) starts from). */
  pipeline: PipelineName | 'base' | null;
  phase: string;
  ablation: Ablation | null;
}

export interface Plan {
  phases: PhaseSpec[];
  finals: PlanFinal[];
}

/** A table row's name for an ablation of (c), e.g. "(c) unsup. prompts; fine-tuning: prompts off, +length on". */
function ablationLabel(a: Ablation): string {
  const on = (x: boolean) => (x ? 'on' : 'off');
  const same = a.supervisedPrompts === a.kdPrompts && a.supervisedLength === a.kdLength;
  const tune = same
    ? `prompts ${on(a.supervisedPrompts)}, +length ${on(a.supervisedLength)}`
    : `supervised prompts ${on(a.supervisedPrompts)} +length ${on(a.supervisedLength)}, KD prompts ${on(a.kdPrompts)} +length ${on(a.kdLength)}`;
  return `(c) unsup. ${a.unsupervisedPrompts ? 'with' : 'without'} prompts; fine-tuning: ${tune}`;
}

function ablationTag(a: Ablation): string {
  const b = (x: boolean) => (x ? '1' : '0');
  return `p${b(a.unsupervisedPrompts)}${b(a.supervisedPrompts)}${b(a.kdPrompts)}-l${b(a.supervisedLength)}${b(a.kdLength)}`;
}

/**
 * The phases and evaluated models of the pipelines asked for, with one seed. `ablations` adds (c)'s
 * supervised and KD phases (and the unsupervised one when its prompts differ) for each setting given.
 */
export function buildPlan(scale: PlanScale, data: PlanData, o: { seed: number; pipelines?: PipelineName[]; ablations?: Ablation[] }): Plan {
  const pipelines = o.pipelines ?? ['a', 'b', 'c'];
  for (const p of pipelines) if (!(p in PIPELINES)) throw new UserError(`unknown pipeline "${p}" (a, b or c)`);
  const phases = new Map<string, PhaseSpec>();
  const add = (id: string, objective: Objective, setting: Setting, init: PhaseSpec['init'], prompts: boolean, extraLength: boolean): string => {
    if (!phases.has(id)) {
      phases.set(id, { id, objective, setting, init, data: data[objective], prompts, extraLength, ...(scale.lengthExtra !== undefined ? { lengthExtra: scale.lengthExtra } : {}), hyper: scale.hyper[objective], seed: o.seed, dim: scale.dim });
    }
    return id;
  };
  const main = MAIN_SETTING;
  const mlm = add('mlm', 'mlm', 'dense', { preset: scale.backbone.preset, vocabSize: scale.backbone.vocabSize, tokenizer: scale.backbone.tokenizer, initSeed: o.seed + 1 }, false, false);
  const needDense = pipelines.includes('a') || pipelines.includes('b');
  // Unsupervised lengths include the prompts' tokens when there are prompts (Table 1: 39 / 187).
  const unsupDense = needDense ? add('unsupervised-dense', 'unsupervised', 'dense', { parent: mlm }, main.unsupervisedPrompts, main.unsupervisedPrompts) : '';
  const finals: PlanFinal[] = [];
  if (pipelines.includes('a')) {
    const supDense = add('supervised-dense', 'supervised', 'dense', { parent: unsupDense }, main.supervisedPrompts, main.supervisedLength);
    finals.push({ label: 'dense supervised', pipeline: null, phase: supDense, ablation: null });
    finals.push({ label: '(a) KD-only', pipeline: 'a', phase: add('a/kd-colbert', 'distillation', 'colbert', { parent: supDense }, main.kdPrompts, main.kdLength), ablation: main });
  }
  if (pipelines.includes('b')) {
    const sup = add('b/supervised-colbert', 'supervised', 'colbert', { parent: unsupDense }, main.supervisedPrompts, main.supervisedLength);
    finals.push({ label: '(b) supervised + KD', pipeline: 'b', phase: add('b/kd-colbert', 'distillation', 'colbert', { parent: sup }, main.kdPrompts, main.kdLength), ablation: main });
  }
  const zero = (a: Ablation): string => {
    const unsup = add(`c/unsupervised-colbert${a.unsupervisedPrompts ? '' : '-noprompts'}`, 'unsupervised', 'colbert', { parent: mlm }, a.unsupervisedPrompts, a.unsupervisedPrompts);
    const supTag = `p${a.supervisedPrompts ? 1 : 0}l${a.supervisedLength ? 1 : 0}`;
    const sup = add(`c/supervised-colbert-${a.unsupervisedPrompts ? 'u1' : 'u0'}-${supTag}`, 'supervised', 'colbert', { parent: unsup }, a.supervisedPrompts, a.supervisedLength);
    return add(`c/kd-colbert-${ablationTag(a)}`, 'distillation', 'colbert', { parent: sup }, a.kdPrompts, a.kdLength);
  };
  if (pipelines.includes('c')) {
    const kd = zero(main);
    const sup = phases.get(kd)!.init as { parent: string };
    finals.push({ label: '(c) ColBERT-Zero, supervised', pipeline: 'c', phase: sup.parent, ablation: main });
    finals.push({ label: '(c) ColBERT-Zero', pipeline: 'c', phase: kd, ablation: main });
  }
  for (const a of o.ablations ?? []) {
    if (ablationTag(a) === ablationTag(main) && pipelines.includes('c')) continue;
    finals.push({ label: ablationLabel(a), pipeline: 'c', phase: zero(a), ablation: a });
  }
  return { phases: [...phases.values()], finals };
}

/**
 * Tables 4/5's grid over (c): prompts on/off at the supervised and KD stages with their "+Length" on/off,
 * over the unsupervised model trained with and without prompts. `full` gives every combination (32);
 * otherwise the paper's rows: prompts × "+Length" on/off for both fine-tuning stages together, over each
 * unsupervised model (8 settings, the main one included).
 */
export function ablationGrid(full: boolean): Ablation[] {
  if (full) {
    const out: Ablation[] = [];
    for (let m = 0; m < 32; m++) {
      const bit = (i: number) => ((m >> i) & 1) === 1;
      out.push({ unsupervisedPrompts: bit(0), supervisedPrompts: bit(1), supervisedLength: bit(2), kdPrompts: bit(3), kdLength: bit(4) });
    }
    return out;
  }
  const all = (p: boolean, l: boolean, u: boolean): Ablation => ({ unsupervisedPrompts: u, supervisedPrompts: p, supervisedLength: l, kdPrompts: p, kdLength: l });
  const out: Ablation[] = [];
  for (const u of [true, false]) for (const p of [true, false]) for (const l of [true, false]) out.push(all(p, l, u));
  return out;
}

/** One phase of a plan and the evaluated models whose chain of phases goes through it. */
export interface PhaseUse {
  id: string;
  objective: string;
  setting: string;
  /** The parent phase's id, or null for a phase from a random init. */
  parent: string | null;
  /** Labels of the plan's evaluated models that go through this phase (a phase in several is trained once). */
  usedBy: string[];
  /** The pipelines (a, b, c) among them. */
  pipelines: string[];
}

/** For each phase of `plan`, which evaluated models (and pipelines) go through it: the phases they share are trained once. */
export function phaseUse(plan: Plan): PhaseUse[] {
  const byId = new Map(plan.phases.map((p) => [p.id, p]));
  const chainOf = (id: string): string[] => {
    const out: string[] = [];
    for (let cur = byId.get(id); cur; cur = 'parent' in cur.init ? byId.get(cur.init.parent) : undefined) {
      out.push(cur.id);
      if (out.length > plan.phases.length) throw new UserError(`plan: the phases above ${id} loop`);
    }
    return out;
  };
  const chains = plan.finals.map((f) => ({ final: f, chain: new Set(chainOf(f.phase)) }));
  return plan.phases.map((p) => {
    const users = chains.filter((c) => c.chain.has(p.id)).map((c) => c.final);
    return {
      id: p.id,
      objective: p.objective,
      setting: p.setting,
      parent: 'parent' in p.init ? p.init.parent : null,
      usedBy: users.map((f) => f.label),
      pipelines: [...new Set(users.map((f) => f.pipeline).filter((x): x is PipelineName => x === 'a' || x === 'b' || x === 'c'))].sort(),
    };
  });
}
