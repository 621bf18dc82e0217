/**
 * The paper's three ways to a ColBERT, from the same backbone and data (Table 2), as phase graphs:
 *
 *   backbone: MLM ─► unsupervised (dense) ─► supervised (dense)                    [Nomic's dense phases]
 *   (a) KD-only          supervised (dense) ─► KD (ColBERT)
 *   (b) supervised + KD  unsupervised (dense) ─► supervised (ColBERT) ─► KD (ColBERT)
 *   (c) ColBERT-Zero     MLM ─► unsupervised (ColBERT) ─► supervised (ColBERT) ─► KD (ColBERT)
 *
 * and the prompt / length ablations of Tables 3–5 as variants of each pipeline's phases. Phases shared between
 * pipelines keep one id, so they are trained once (lib/pipelines/plan-runner.ts caches them by key).
 */
import { UserError } from '../util/errors';
import { phaseLengths, type Objective, type PhaseHyper, type PhaseSpec, type Setting } from './phase';

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

/** The query and document lengths every model of a plan is evaluated at (tokens, prompts included). */
export interface EvaluationLengths {
  queryLength: number;
  documentLength: number;
}

export interface Plan {
  phases: PhaseSpec[];
  finals: PlanFinal[];
  /**
   * One evaluation length for every evaluated model (and baseline) of the plan; see `evaluationLengths`.
   * Optional for plans written by hand (the evaluation then uses each model's own lengths).
   */
  evaluation?: EvaluationLengths;
}

/** One setting of the ablation grid: the pipeline whose phases it varies, and its switches. */
export interface PlanAblation {
  pipeline: PipelineName;
  ablation: Ablation;
}

const on = (x: boolean) => (x ? 'on' : 'off');

/**
 * A table row's name for an ablation, e.g. "(c) unsup. with prompts; fine-tuning: prompts off, +length on"
 * (a distilled model of (c)), "(a) KD-only; KD: prompts on, +length off", "(b) supervised + KD, supervised;
 * prompts off, +length off" (the supervised model of (b)). (c)'s distilled labels are those of earlier
 * versions, so their result files keep their names.
 */
function ablationLabel(a: Ablation, pipeline: PipelineName = 'c', phase: 'supervised' | 'distillation' = 'distillation'): string {
  if (pipeline === 'a') return `(a) KD-only; KD: prompts ${on(a.kdPrompts)}, +length ${on(a.kdLength)}`;
  const supervised = `prompts ${on(a.supervisedPrompts)}, +length ${on(a.supervisedLength)}`;
  if (phase === 'supervised') return pipeline === 'b' ? `(b) supervised + KD, supervised; ${supervised}` : `(c) unsup. ${a.unsupervisedPrompts ? 'with' : 'without'} prompts; supervised: ${supervised}`;
  const same = a.supervisedPrompts === a.kdPrompts && a.supervisedLength === a.kdLength;
  const tune = same ? supervised : `supervised prompts ${on(a.supervisedPrompts)} +length ${on(a.supervisedLength)}, KD prompts ${on(a.kdPrompts)} +length ${on(a.kdLength)}`;
  return pipeline === 'b' ? `(b) supervised + KD; fine-tuning: ${tune}` : `(c) unsup. ${a.unsupervisedPrompts ? 'with' : 'without'} prompts; fine-tuning: ${tune}`;
}

function ablationTag(a: Ablation): string {
  const b = (x: boolean) => (x ? '1' : '0');
  return `p${b(a.unsupervisedPrompts)}${b(a.supervisedPrompts)}${b(a.kdPrompts)}-l${b(a.supervisedLength)}${b(a.kdLength)}`;
}

const isMain = (a: Ablation) => ablationTag(a) === ablationTag(MAIN_SETTING);

/**
 * Pipelines (a) and (b) start from Nomic's dense models, trained with prompts (and, for (a), the
 * supervised one with its lengths): their ablations vary only the phases trained here as ColBERT.
 */
export function checkAblation({ pipeline, ablation: a }: PlanAblation): void {
  if (!(pipeline in PIPELINES)) throw new UserError(`unknown pipeline "${pipeline}" (a, b or c)`);
  if (pipeline === 'a' && !(a.unsupervisedPrompts && a.supervisedPrompts && a.supervisedLength)) {
    throw new UserError('pipeline (a) distils the dense supervised model (trained with prompts and +Length): its ablations vary the KD switches only (u1-p1l1-pPlL)');
  }
  if (pipeline === 'b' && !a.unsupervisedPrompts) throw new UserError('pipeline (b) starts from the dense unsupervised model, trained with prompts: its ablations keep u1 (u1-pPlL-pPlL)');
}

/**
 * The evaluation lengths of a plan: the longest query and document lengths any of its evaluated models was
 * trained with. "+Length" is a training-time change (Appendix A); evaluating each model at its own
 * training lengths would also change how much of each test query and document it reads, so every row is
 * evaluated at one length instead, and the longest training length is the one that truncates no model
 * below what it was trained on. The paper does the same ("we cover the maximum lengths of the BEIR
 * datasets", footnote 2), and Table 4's † row (+Length at evaluation only: 54.60 vs 54.61) shows that a
 * model trained shorter loses nothing when it is evaluated longer. The main setting has "+Length" on, so
 * every preset evaluates at its base lengths plus the "+Length" amount, with or without the ablations.
 */
function evaluationLengths(phases: PhaseSpec[], finals: PlanFinal[]): EvaluationLengths {
  const byId = new Map(phases.map((p) => [p.id, p]));
  const lengths = finals.map((f) => phaseLengths(byId.get(f.phase)!));
  return { queryLength: Math.max(...lengths.map((l) => l.queryLength)), documentLength: Math.max(...lengths.map((l) => l.documentLength)) };
}

/**
 * The phases and evaluated models of the pipelines asked for, with one seed. `ablations` adds, for each
 * setting, its pipeline's phases trained as ColBERT (KD for (a); supervised and KD for (b); for (c) also
 * the unsupervised one when its prompts differ) and evaluates its distilled model and, for (b) and (c),
 * its supervised one (Table 4's "Supervised" rows). Settings equal to the main one reuse its phases.
 */
export function buildPlan(scale: PlanScale, data: PlanData, o: { seed: number; pipelines?: PipelineName[]; ablations?: PlanAblation[] }): Plan {
  const pipelines = o.pipelines ?? ['a', 'b', 'c'];
  for (const p of pipelines) if (!(p in PIPELINES)) throw new UserError(`unknown pipeline "${p}" (a, b or c)`);
  const ablations = o.ablations ?? [];
  ablations.forEach(checkAblation);
  const phases = new Map<string, PhaseSpec>();
  const add = (id: string, objective: Objective, setting: Setting, init: PhaseSpec['init'], prompts: boolean, extraLength: boolean): string => {
    if (!phases.has(id)) {
      phases.set(id, { id, objective, setting, init, data: data[objective], prompts, extraLength, ...(scale.lengthExtra !== undefined ? { lengthExtra: scale.lengthExtra } : {}), hyper: scale.hyper[objective], seed: o.seed, dim: scale.dim });
    }
    return id;
  };
  const main = MAIN_SETTING;
  const mlm = add('mlm', 'mlm', 'dense', { preset: scale.backbone.preset, vocabSize: scale.backbone.vocabSize, tokenizer: scale.backbone.tokenizer, initSeed: o.seed + 1 }, false, false);
  const wants = (p: PipelineName) => pipelines.includes(p) || ablations.some((x) => x.pipeline === p);
  // Unsupervised lengths include the prompts' tokens when there are prompts (Table 1: 39 / 187).
  const unsupDense = wants('a') || wants('b') ? add('unsupervised-dense', 'unsupervised', 'dense', { parent: mlm }, main.unsupervisedPrompts, main.unsupervisedPrompts) : '';
  const supDense = () => add('supervised-dense', 'supervised', 'dense', { parent: unsupDense }, main.supervisedPrompts, main.supervisedLength);
  const bit = (x: boolean) => (x ? 1 : 0);
  const kdOnly = (a: Ablation): string => add(isMain(a) ? 'a/kd-colbert' : `a/kd-colbert-p${bit(a.kdPrompts)}l${bit(a.kdLength)}`, 'distillation', 'colbert', { parent: supDense() }, a.kdPrompts, a.kdLength);
  const supervisedKd = (a: Ablation): { sup: string; kd: string } => {
    const supMain = a.supervisedPrompts && a.supervisedLength;
    const sup = add(supMain ? 'b/supervised-colbert' : `b/supervised-colbert-p${bit(a.supervisedPrompts)}l${bit(a.supervisedLength)}`, 'supervised', 'colbert', { parent: unsupDense }, a.supervisedPrompts, a.supervisedLength);
    return { sup, kd: add(isMain(a) ? 'b/kd-colbert' : `b/kd-colbert-${ablationTag(a)}`, 'distillation', 'colbert', { parent: sup }, a.kdPrompts, a.kdLength) };
  };
  const zero = (a: Ablation): { sup: string; kd: string } => {
    const unsup = add(`c/unsupervised-colbert${a.unsupervisedPrompts ? '' : '-noprompts'}`, 'unsupervised', 'colbert', { parent: mlm }, a.unsupervisedPrompts, a.unsupervisedPrompts);
    const supTag = `p${bit(a.supervisedPrompts)}l${bit(a.supervisedLength)}`;
    const sup = add(`c/supervised-colbert-${a.unsupervisedPrompts ? 'u1' : 'u0'}-${supTag}`, 'supervised', 'colbert', { parent: unsup }, a.supervisedPrompts, a.supervisedLength);
    return { sup, kd: add(`c/kd-colbert-${ablationTag(a)}`, 'distillation', 'colbert', { parent: sup }, a.kdPrompts, a.kdLength) };
  };
  const finals: PlanFinal[] = [];
  if (pipelines.includes('a')) {
    finals.push({ label: 'dense supervised', pipeline: null, phase: supDense(), ablation: null });
    finals.push({ label: '(a) KD-only', pipeline: 'a', phase: kdOnly(main), ablation: main });
  }
  if (pipelines.includes('b')) finals.push({ label: '(b) supervised + KD', pipeline: 'b', phase: supervisedKd(main).kd, ablation: main });
  if (pipelines.includes('c')) {
    const { sup, kd } = zero(main);
    finals.push({ label: '(c) ColBERT-Zero, supervised', pipeline: 'c', phase: sup, ablation: main });
    finals.push({ label: '(c) ColBERT-Zero', pipeline: 'c', phase: kd, ablation: main });
  }
  const evaluated = (phase: string) => finals.some((f) => f.phase === phase);
  for (const { pipeline, ablation: a } of ablations) {
    const { sup, kd } = pipeline === 'a' ? { sup: null, kd: kdOnly(a) } : pipeline === 'b' ? supervisedKd(a) : zero(a);
    // Table 4's "Supervised" rows: a supervised model is described by its own switches (KD's set equal).
    if (sup !== null && !evaluated(sup)) {
      const supAblation = { ...a, kdPrompts: a.supervisedPrompts, kdLength: a.supervisedLength };
      const label = pipeline === 'b' && isMain(supAblation) ? '(b) supervised + KD, supervised' : ablationLabel(supAblation, pipeline, 'supervised');
      finals.push({ label, pipeline, phase: sup, ablation: supAblation });
    }
    if (!evaluated(kd)) finals.push({ label: ablationLabel(a, pipeline), pipeline, phase: kd, ablation: a });
  }
  const list = [...phases.values()];
  return { phases: list, finals, evaluation: evaluationLengths(list, finals) };
}

/**
 * Table 4's grid, for the three pipelines. The paper's rows (`full` false, 14 settings, the main ones
 * included; the paper's row ids in results/paper/table-4.json):
 *
 *   (a) KD from dense supervised: KD prompts × KD "+Length" (4 rows)
 *   (b) supervised + KD from dense unsupervised: prompts × "+Length" for both fine-tuning stages together
 *       (4 settings; their supervised and distilled models are Table 4's 8 rows)
 *   (c) from the ColBERT unsupervised model with prompts: the same 4 settings (8 rows); from the one without
 *       prompts: none and both (2 settings, 4 rows; the paper's † row is the "none" model with the extra
 *       length at evaluation only, which every model here gets: see `evaluationLengths`)
 *
 * `full` gives every combination of the switches each pipeline trains: 4 for (a), 16 for (b), 32 for (c).
 */
export function ablationGrid(full: boolean): PlanAblation[] {
  const out: PlanAblation[] = [];
  const both = [true, false];
  const tied = (u: boolean, p: boolean, l: boolean): Ablation => ({ unsupervisedPrompts: u, supervisedPrompts: p, supervisedLength: l, kdPrompts: p, kdLength: l });
  for (const p of both) for (const l of both) out.push({ pipeline: 'a', ablation: { ...MAIN_SETTING, kdPrompts: p, kdLength: l } });
  if (full) {
    for (let m = 0; m < 16; m++) {
      const bit = (i: number) => ((m >> i) & 1) === 1;
      out.push({ pipeline: 'b', ablation: { unsupervisedPrompts: true, supervisedPrompts: bit(0), supervisedLength: bit(1), kdPrompts: bit(2), kdLength: bit(3) } });
    }
    for (let m = 0; m < 32; m++) {
      const bit = (i: number) => ((m >> i) & 1) === 1;
      out.push({ pipeline: 'c', ablation: { unsupervisedPrompts: bit(0), supervisedPrompts: bit(1), supervisedLength: bit(2), kdPrompts: bit(3), kdLength: bit(4) } });
    }
    return out;
  }
  for (const p of both) for (const l of both) out.push({ pipeline: 'b', ablation: tied(true, p, l) });
  for (const p of both) for (const l of both) out.push({ pipeline: 'c', ablation: tied(true, p, l) });
  for (const x of both) out.push({ pipeline: 'c', ablation: tied(false, x, x) });
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
