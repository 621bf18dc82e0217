/**
 * A phase of the paper: (initial checkpoint, setting dense | ColBERT, objective, data, prompts, lengths,
 * hyper-parameters). It compiles to one training config (lib/train), and it has a key: a hash of its
 * config, its parent's key and its data's checksums. Two pipelines that share a phase (the dense
 * unsupervised model under (a) and (b)) share its key, so it is trained once and its output reused.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { sha256File } from '../util/hash';
import { canonicalJson } from '../util/json';
import { parseTrainConfig, type TrainConfig } from '../train/config';
import { COLBERT_ZERO_PROMPTS, PROMPT_EXTRA_LENGTH } from '../paper/prompts';
import { PAPER_EXPANSION_TOKENS, type ExpansionTokens } from '../tokenize/colbert-config';

export type Objective = 'mlm' | 'unsupervised' | 'supervised' | 'distillation';
export type Setting = 'dense' | 'colbert';

/** Hyper-parameters of a phase (the keys of a training config that a scale sets). */
export interface PhaseHyper {
  batchSize: number;
  miniBatch?: number;
  steps: number;
  lr: number;
  warmupSteps?: number;
  temperature?: number;
  negatives?: number;
  candidates?: number;
  accumulationSteps?: number;
  queryLength: number;
  documentLength: number;
}

/** Where a phase starts: a parent phase's model, or a random architecture. */
export type PhaseInit = { parent: string } | { preset: string; vocabSize?: number; initSeed: number; tokenizer?: string };

export interface PhaseSpec {
  /** Unique within a plan, e.g. "unsupervised-dense" or "c/supervised-colbert". */
  id: string;
  objective: Objective;
  setting: Setting;
  init: PhaseInit;
  /** Training data files (JSONL in the phase's format). */
  data: string[];
  /** ColBERT-Zero's prompts on (search_query: / search_document:) or off. */
  prompts: boolean;
  /** The "+Length" setting: `lengthExtra` tokens (default PROMPT_EXTRA_LENGTH, the paper's 7) added to both lengths. */
  extraLength: boolean;
  lengthExtra?: number;
  hyper: PhaseHyper;
  /** Training seed (sampling order, dropout). */
  seed: number;
  /** ColBERT projection size. */
  dim: number;
  /**
   * ColBERT phases: what the queries' unattended [MASK] expansion tokens give (lib/tokenize/colbert-config's
   * ExpansionTokens); unset: the paper's, "zeroed" (its ModernBERT models ran Flash Attention, footnote 3).
   * Written into the phase's model folder, so every later load, evaluation and result has it.
   */
  expansionTokens?: ExpansionTokens;
}

/** A ColBERT phase's expansion-token setting (the paper's unless the spec says otherwise); null for dense and MLM phases. */
export function phaseExpansionTokens(spec: Pick<PhaseSpec, 'objective' | 'setting' | 'expansionTokens'>): ExpansionTokens | null {
  return spec.objective !== 'mlm' && spec.setting === 'colbert' ? (spec.expansionTokens ?? PAPER_EXPANSION_TOKENS) : null;
}

/** sha256 of a file's bytes (data checksums go into phase keys and result files). */
function fileSha256(file: string): string {
  if (!fs.existsSync(file)) throw new UserError(`${file}: data file not found`);
  return sha256File(file);
}

/**
 * The phase's key: its settings (not its id or output path), its parent's key and its data's contents.
 * `checksums` caches file hashes across phases.
 */
export function phaseKey(spec: PhaseSpec, parentKey: string | null, checksums: Map<string, string>): string {
  const sums = spec.data.map((f) => {
    if (!checksums.has(f)) checksums.set(f, fileSha256(f));
    return checksums.get(f)!;
  });
  const { id: _id, data: _data, init, expansionTokens: _e, ...rest } = spec;
  // A ColBERT phase's key holds its expansion-token setting even when the spec leaves it to the default.
  const settings = { ...rest, expansionTokens: phaseExpansionTokens(spec) ?? undefined };
  const start = 'parent' in init ? { parent: parentKey } : init;
  const h = crypto.createHash('sha256').update(canonicalJson({ settings, start, data: sums, version: 1 }));
  return h.digest('hex').slice(0, 16);
}

/** The phase's lengths after the "+Length" switch. */
export function phaseLengths(spec: PhaseSpec): { queryLength: number; documentLength: number } {
  const extra = spec.extraLength ? (spec.lengthExtra ?? PROMPT_EXTRA_LENGTH) : 0;
  return { queryLength: spec.hyper.queryLength + extra, documentLength: spec.hyper.documentLength + extra };
}

/**
 * The training config of a phase. `parentModel` is the parent's saved model folder (for phases that
 * start from one); `output` the phase's own folder; `evalDirs` BEIR folders evaluated during training.
 */
export function phaseTrainConfig(spec: PhaseSpec, o: { parentModel?: string; output: string; evalDirs?: Array<{ dir: string; name: string; split?: string }> }): TrainConfig {
  const h = spec.hyper;
  const lengths = phaseLengths(spec);
  const prompts = spec.objective === 'mlm' ? undefined : spec.prompts ? { ...COLBERT_ZERO_PROMPTS } : { query: '', document: '' };
  const init = spec.init;
  const expansion = phaseExpansionTokens(spec);
  const colbertSettings = expansion ? { expansionTokens: expansion } : {};
  if ('parent' in init && !o.parentModel) throw new UserError(`phase ${spec.id}: its parent ${init.parent} has no model`);
  const model =
    'parent' in init
      ? { type: 'modernbert', from: o.parentModel, dim: spec.dim, ...lengths, ...(prompts ? { prompts: { query: prompts.query!, document: prompts.document! } } : {}), ...colbertSettings }
      : { type: 'modernbert', preset: init.preset, initSeed: init.initSeed, ...(init.vocabSize ? { vocabSize: init.vocabSize } : {}), ...(init.tokenizer ? { tokenizer: init.tokenizer } : {}), dim: spec.dim, ...lengths, ...colbertSettings };
  const raw = {
    model,
    head: spec.objective === 'mlm' ? 'dense' : spec.setting,
    phase: spec.objective,
    data: { sources: spec.data, mixing: 'proportional', avoidDuplicates: true },
    batchSize: h.batchSize,
    ...(h.miniBatch ? { miniBatch: h.miniBatch } : {}),
    accumulationSteps: h.accumulationSteps ?? 1,
    ...(h.negatives !== undefined ? { negatives: h.negatives } : {}),
    ...(h.candidates !== undefined ? { candidates: h.candidates } : {}),
    ...(h.temperature !== undefined ? { temperature: { value: h.temperature, learnable: false } } : {}),
    optimizer: { lr: h.lr, warmupSteps: h.warmupSteps ?? 0, weightDecay: 0.01, clipNorm: 1 },
    steps: h.steps,
    seed: spec.seed,
    output: o.output,
    checkpointEvery: Math.max(1, Math.ceil(h.steps / 4)),
    keepCheckpoints: 1,
    logEvery: 1,
    ...(o.evalDirs && o.evalDirs.length && spec.objective !== 'mlm' ? { eval: { datasets: o.evalDirs, k: 100, measures: ['ndcg_cut.10'] } } : {}),
  };
  return parseTrainConfig(raw, `phase ${spec.id}`);
}

/** Phases in an order where every parent comes before its children; unknown parents and cycles are errors. */
export function orderPhases(phases: PhaseSpec[]): PhaseSpec[] {
  const byId = new Map(phases.map((p) => [p.id, p]));
  if (byId.size !== phases.length) throw new UserError('plan: two phases share an id');
  const out: PhaseSpec[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (p: PhaseSpec, trail: string[]): void => {
    if (state.get(p.id) === 'done') return;
    if (state.get(p.id) === 'visiting') throw new UserError(`plan: phases form a cycle (${[...trail, p.id].join(' → ')})`);
    state.set(p.id, 'visiting');
    if ('parent' in p.init) {
      const parent = byId.get(p.init.parent);
      if (!parent) throw new UserError(`plan: phase ${p.id} starts from unknown phase ${p.init.parent}`);
      visit(parent, [...trail, p.id]);
    }
    state.set(p.id, 'done');
    out.push(p);
  };
  for (const p of phases) visit(p, []);
  return out;
}
