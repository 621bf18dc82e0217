/**
 * The paper's comparative claims as checks on a set of results.
 *
 * A claim is data: an id, the statement, where the paper makes it, and a comparison between two settings
 * picked by selectors (pipeline, phase, ablation switches). Evaluated on the results of one preset, each
 * claim gets a verdict:
 *
 * - supports: the paired test (stratified over the datasets both settings have) is significant after the
 *   correction over all claims evaluated, in the claimed direction;
 * - contradicts: significant in the opposite direction;
 * - cannot resolve: not significant, or a setting is missing (or ambiguous), with the reason.
 *
 * `better` claims test A − B; `ratio` claims ("A reaches at least r of B") test A − r·B, so a verdict on
 * them is a verdict on the ratio, not on the raw difference. To add a claim, append to `PAPER_CLAIMS`.
 */
import type { Ablation, EvaluationResult, Pipeline } from './results';
import { correctionName } from './significance';
import { finishFamily, isMainSetting, percent, resolveOptions, runComparison, type Comparison, type Setting, type TableOptions } from './tables';

/** Picks one setting: every given field must match; `ablation` keys compare against the recorded switches ('main' = the main setting). */
export interface Selector {
  pipeline?: Pipeline | null;
  phase?: EvaluationResult['phase'];
  ablation?: 'main' | Partial<Ablation>;
  label?: string;
}

export type ClaimComparison =
  | { kind: 'better'; better: Selector; worse: Selector }
  | { kind: 'ratio'; numerator: Selector; denominator: Selector; atLeast: number };

export interface Claim {
  id: string;
  statement: string;
  /** Where the paper says it (table / section), with the paper's numbers when it gives them. */
  source: string;
  /** The ids of the matching claims in the paper's transcription (`results/paper/claims.json`), if any. */
  paperClaims?: string[];
  comparison: ClaimComparison;
}

const MAIN = 'main' as const;
const ALL_ON = { supervisedPrompts: true, supervisedLength: true, kdPrompts: true, kdLength: true };
const ALL_OFF = { supervisedPrompts: false, supervisedLength: false, kdPrompts: false, kdLength: false };

/** The comparative claims of the paper, in its order. */
export const PAPER_CLAIMS: Claim[] = [
  {
    id: 'c-beats-a',
    statement: 'ColBERT-Zero (c, every phase as ColBERT, distilled) beats KD-only (a, distilled from the dense supervised model)',
    source: 'Table 2 (55.43 vs 54.09 BEIR Avg); Section 3.1',
    paperClaims: ['kd-only-gap'],
    comparison: { kind: 'better', better: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'a', phase: 'distillation', ablation: MAIN } },
  },
  {
    id: 'b-beats-a',
    statement: 'Supervised + KD as ColBERT (b, distilled) beats KD-only (a, distilled)',
    source: 'Table 2 (55.12 vs 54.09); Section 3.1 ("a gain of more than 1 nDCG@10 over KD alone")',
    paperClaims: ['supervised-kd-beats-kd-only'],
    comparison: { kind: 'better', better: { pipeline: 'b', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'a', phase: 'distillation', ablation: MAIN } },
  },
  {
    // The direction of the small gap the paper reports, not its size: a significant (c) > (b) supports the
    // "remaining advantage" however large it is. The paper's near-parity claim (`supervised-kd-near-zero`:
    // (b) within 0.31 of (c)) is what the ratio claim below tests; a large gap contradicts that one.
    id: 'c-beats-b',
    statement: 'Full ColBERT pre-training (c) keeps an edge over supervised + KD (b) (the direction of the gap; its smallness is b-reaches-99.4pct-of-c)',
    source: 'Table 2 (55.43 vs 55.12, "0.31 difference"); Section 3.1; Section 4 ("the small remaining advantage of pre-training a ColBERT model")',
    comparison: { kind: 'better', better: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'b', phase: 'distillation', ablation: MAIN } },
  },
  {
    id: 'b-reaches-99.4pct-of-c',
    statement: 'Supervised + KD (b) reaches at least 99.4 % of ColBERT-Zero (c)',
    source: 'Section 3.1 ("roughly 10× cheaper for 99.4% of the performance"; "nearly matching the fully pre-trained ColBERT (0.31 difference)")',
    paperClaims: ['supervised-kd-99-4-percent', 'supervised-kd-near-zero'],
    comparison: { kind: 'ratio', numerator: { pipeline: 'b', phase: 'distillation', ablation: MAIN }, denominator: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, atLeast: 0.994 },
  },
  // Section 4: "knowledge distillation typically *improves* results after supervised fine-tuning", for each
  // pipeline with a supervised model before its KD: (c) and (b) as ColBERT, (a) from the dense supervised model.
  {
    id: 'c-kd-improves-supervised',
    statement: 'In ColBERT-Zero (c), distillation improves on the supervised model',
    source: 'Table 2 (55.43 vs 51.81); Section 4 ("knowledge distillation typically improves results after supervised fine-tuning")',
    comparison: { kind: 'better', better: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'c', phase: 'supervised', ablation: MAIN } },
  },
  {
    id: 'b-kd-improves-supervised',
    statement: 'In supervised + KD (b), distillation improves on the ColBERT supervised model it starts from',
    source: 'Table 2 (55.12 vs 50.72; Table 4\'s ✓ ✓ rows); Section 4 (evaluated with the ablation rows: the (b) supervised model is one of them)',
    comparison: { kind: 'better', better: { pipeline: 'b', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'b', phase: 'supervised', ablation: MAIN } },
  },
  {
    id: 'a-kd-improves-supervised',
    statement: 'In KD-only (a), distillation as ColBERT improves on the dense supervised model it starts from',
    source: 'Table 2 (54.09 vs 52.89 for the dense supervised model); Section 4',
    comparison: { kind: 'better', better: { pipeline: 'a', phase: 'distillation', ablation: MAIN }, worse: { pipeline: null, phase: 'supervised' } },
  },
  {
    id: 'b-aligned-prompts',
    statement: 'Fine-tuning a model pre-trained with prompts (dense unsupervised, b): with prompts beats without (aligned > misaligned)',
    source: 'Table 3 (55.12 vs 54.44); Section 3.2',
    paperClaims: ['prompt-alignment'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'b', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_ON } },
      worse: { pipeline: 'b', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_OFF } },
    },
  },
  {
    id: 'c-aligned-prompts',
    statement: 'Fine-tuning the ColBERT unsupervised model pre-trained with prompts (c): with prompts beats without (aligned > misaligned)',
    source: 'Table 3 (55.43 vs 54.17); Section 3.2',
    paperClaims: ['prompt-alignment'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_ON } },
      worse: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_OFF } },
    },
  },
  {
    id: 'c-misaligned-prompts-hurt',
    statement: 'Fine-tuning the ColBERT unsupervised model pre-trained without prompts: without prompts beats with (adding misaligned prompts hurts)',
    source: 'Table 3 (54.61 vs 54.18); Section 3.2',
    paperClaims: ['prompt-alignment'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: false, ...ALL_OFF } },
      worse: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: false, ...ALL_ON } },
    },
  },
  {
    id: 'prompts-intrinsic',
    statement: 'Full pre-training with prompts throughout beats full pre-training without prompts throughout (prompts help beyond alignment)',
    source: 'Table 3 (55.43 vs 54.61); Section 3.2, Appendix A',
    paperClaims: ['prompt-gap'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_ON } },
      worse: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: false, ...ALL_OFF } },
    },
  },
  {
    id: 'a-prompt-helps',
    statement: 'KD-only (a): distilling with prompts beats distilling without (no prompt, no length)',
    source: 'Table 5 (+1.25: 53.83 vs 52.58)',
    paperClaims: ['prompt-alignment', 'kd-only-most-sensitive-to-prompts'],
    comparison: { kind: 'better', better: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: true, kdLength: false } }, worse: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: false } } },
  },
  // Appendix A: "we observe gains by adding the prompts even when not accounting for the additional tokens"
  // (Table 5's +Prompt column). The distilled models of (b) and (c) here, (a)'s above; the paper's own
  // supervised rows go the other way (−0.25 and −0.31).
  {
    id: 'b-prompt-helps',
    statement: 'Supervised + KD (b): fine-tuning with prompts but without the extra length beats fine-tuning with neither',
    source: 'Table 5 (+0.51: 54.95 vs 54.44, distilled); Appendix A',
    paperClaims: ['prompt-alignment'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'b', phase: 'distillation', ablation: { unsupervisedPrompts: true, supervisedPrompts: true, supervisedLength: false, kdPrompts: true, kdLength: false } },
      worse: { pipeline: 'b', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_OFF } },
    },
  },
  {
    id: 'c-prompt-helps',
    statement: 'ColBERT-Zero (c, unsupervised with prompts): fine-tuning with prompts but without the extra length beats fine-tuning with neither',
    source: 'Table 5 (+0.42: 54.59 vs 54.17, distilled); Appendix A',
    paperClaims: ['prompt-alignment'],
    comparison: {
      kind: 'better',
      better: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: true, supervisedPrompts: true, supervisedLength: false, kdPrompts: true, kdLength: false } },
      worse: { pipeline: 'c', phase: 'distillation', ablation: { unsupervisedPrompts: true, ...ALL_OFF } },
    },
  },
  {
    id: 'a-length-helps',
    statement: 'KD-only (a): distilling with the +7 lengths beats distilling without (no prompt)',
    source: 'Table 5 (+0.70: 53.28 vs 52.58)',
    paperClaims: ['length-helps'],
    comparison: { kind: 'better', better: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: true } }, worse: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: false } } },
  },
  {
    id: 'a-both-best',
    statement: 'KD-only (a): prompts and lengths together beat prompts alone (the effects add up)',
    source: 'Table 5 (54.09 vs 53.83); Appendix A',
    paperClaims: ['prompt-length-additive'],
    comparison: { kind: 'better', better: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: true, kdLength: true } }, worse: { pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: true, kdLength: false } } },
  },
  {
    id: 'c-beats-base',
    statement: 'Sanity check, not a claim of the paper: the trained ColBERT-Zero (c, distilled) beats the untrained base model',
    source: 'none: a trained model that does not beat its untrained base shows the run learned nothing',
    comparison: { kind: 'better', better: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'base', phase: null } },
  },
  {
    id: 'c-beats-bm25',
    statement: 'Sanity check, not a claim of the paper: the trained ColBERT-Zero (c, distilled) beats BM25',
    source: 'none: the lexical baseline every neural retriever is expected to beat',
    comparison: { kind: 'better', better: { pipeline: 'c', phase: 'distillation', ablation: MAIN }, worse: { pipeline: 'bm25' } },
  },
];

export type Verdict = 'supports' | 'contradicts' | 'cannot resolve';

export interface ClaimResult {
  id: string;
  statement: string;
  source: string;
  paperClaims: string[];
  verdict: Verdict;
  /** Why, in one sentence with the numbers. */
  reason: string;
  /** The two settings compared (labels) and their Avg over the datasets compared. */
  a: { label: string; avg: number; seeds: number } | null;
  b: { label: string; avg: number; seeds: number } | null;
  datasets: string[];
  comparison?: Comparison;
}

function matches(s: Setting, sel: Selector): boolean {
  if (sel.label !== undefined && s.label !== sel.label) return false;
  if (sel.pipeline !== undefined && s.pipeline !== sel.pipeline) return false;
  if (sel.phase !== undefined && s.phase !== sel.phase) return false;
  if (sel.ablation === 'main') return isMainSetting(s.ablation);
  if (sel.ablation) {
    for (const [k, v] of Object.entries(sel.ablation)) {
      // A result without recorded switches is the main setting: every switch on.
      const have = s.ablation === null ? true : s.ablation[k as keyof Ablation];
      if (have !== v) return false;
    }
  }
  return true;
}

function describe(sel: Selector): string {
  const parts: string[] = [];
  if (sel.label !== undefined) parts.push(`label "${sel.label}"`);
  if (sel.pipeline !== undefined) parts.push(`pipeline ${sel.pipeline}`);
  if (sel.phase !== undefined) parts.push(`phase ${sel.phase}`);
  if (sel.ablation === 'main') parts.push('main setting');
  else if (sel.ablation) parts.push(Object.entries(sel.ablation).map(([k, v]) => `${k}=${v}`).join(' '));
  return parts.join(', ');
}

function pick(settings: Setting[], sel: Selector): Setting | string {
  const hits = settings.filter((s) => matches(s, sel));
  if (hits.length === 0) return `no result for ${describe(sel)}`;
  if (hits.length > 1) return `${hits.length} settings match ${describe(sel)} (${hits.map((h) => `"${h.label}"`).join(', ')})`;
  return hits[0];
}

function commonDatasets(a: Setting, b: Setting): string[] {
  const names = (s: Setting) => s.results.map((r) => new Set(r.datasets.map((d) => d.name))).reduce((x, y) => new Set([...x].filter((n) => y.has(n))));
  const nb = names(b);
  return [...names(a)].filter((n) => nb.has(n));
}

function avgOver(s: Setting, datasets: string[], measure: string): number {
  let total = 0;
  for (const name of datasets) {
    let v = 0;
    for (const r of s.results) v += r.datasets.find((d) => d.name === name)!.metrics[measure];
    total += v / s.results.length;
  }
  return total / datasets.length;
}

/**
 * Evaluates claims on the settings of one preset. The tests of every claim that has data form one
 * family for the correction.
 */
export function evaluateClaims(settings: Setting[], opts: TableOptions = {}, claims: Claim[] = PAPER_CLAIMS): ClaimResult[] {
  const o = resolveOptions(opts);
  const family: Parameters<typeof finishFamily>[0] = [];
  const pending: Array<{ out: ClaimResult; claim: Claim; shift: number }> = [];
  const out = claims.map((claim) => {
    const c = claim.comparison;
    const [selA, selB] = c.kind === 'better' ? [c.better, c.worse] : [c.numerator, c.denominator];
    const base: ClaimResult = { id: claim.id, statement: claim.statement, source: claim.source, paperClaims: claim.paperClaims ?? [], verdict: 'cannot resolve', reason: '', a: null, b: null, datasets: [] };
    const a = pick(settings, selA);
    const b = pick(settings, selB);
    if (typeof a === 'string' || typeof b === 'string') {
      base.reason = [a, b].filter((x): x is string => typeof x === 'string').join('; ');
      return base;
    }
    const datasets = commonDatasets(a, b).filter((d) => a.results.every((r) => r.datasets.find((x) => x.name === d)!.metrics[o.measure] !== undefined) && b.results.every((r) => r.datasets.find((x) => x.name === d)!.metrics[o.measure] !== undefined));
    base.datasets = datasets;
    if (datasets.length === 0) {
      base.reason = `"${a.label}" and "${b.label}" share no dataset with ${o.measure}`;
      return base;
    }
    base.a = { label: a.label, avg: avgOver(a, datasets, o.measure), seeds: a.results.length };
    base.b = { label: b.label, avg: avgOver(b, datasets, o.measure), seeds: b.results.length };
    const shift = c.kind === 'ratio' ? c.atLeast : 1;
    const raw = runComparison(a, b, datasets, o, shift);
    if (!raw) {
      base.reason = `"${a.label}" and "${b.label}" have no common queries to pair (or too few for the ${o.test} test)`;
      return base;
    }
    family.push({ raw, against: b.label, set: (x) => (base.comparison = x) });
    pending.push({ out: base, claim, shift });
    return base;
  });
  finishFamily(family, o);
  for (const { out: r, claim, shift } of pending) {
    const cmp = r.comparison!;
    const p = `p = ${cmp.pValue.toPrecision(3)}, ${o.correction === 'none' ? 'uncorrected' : `${o.correction}-adjusted ${cmp.pAdjusted.toPrecision(3)}`}, α = ${o.alpha}, ${cmp.queries} queries`;
    const name = (x: NonNullable<ClaimResult['a']>) => `"${x.label}"${x.seeds > 1 ? ` (mean of ${x.seeds} seeds)` : ''} ${percent(x.avg)}`;
    const nums = claim.comparison.kind === 'ratio'
      ? `${name(r.a!)} is ${((100 * r.a!.avg) / r.b!.avg).toFixed(2)} % of ${name(r.b!)} (claimed ≥ ${(100 * shift).toFixed(1)} %)`
      : `${name(r.a!)} vs ${name(r.b!)} (Δ ${percent(r.a!.avg - r.b!.avg, true)})`;
    if (!cmp.significant) {
      r.verdict = 'cannot resolve';
      r.reason = `${nums}: not significant (${p})`;
    } else if (cmp.outcome === 'better') {
      r.verdict = 'supports';
      r.reason = `${nums}: significant (${p})`;
    } else {
      r.verdict = 'contradicts';
      r.reason = `${nums}: significant in the opposite direction (${p})`;
    }
  }
  return out;
}

export function formatClaims(results: ClaimResult[], opts: TableOptions = {}): string {
  const o = resolveOptions(opts);
  const lines = ['| Claim | Paper | Verdict | Evidence |', '|---|---|---|---|'];
  for (const r of results) {
    const linked = r.paperClaims.length ? ` (results/paper/claims.json: ${r.paperClaims.map((c) => `\`${c}\``).join(', ')})` : '';
    lines.push(`| ${r.statement} (\`${r.id}\`) | ${r.source}${linked} | **${r.verdict}** | ${r.reason.replace(/\|/g, '\\|')} |`);
  }
  const tested = results.filter((r) => r.comparison).length;
  const test = o.test === 't' ? 'paired two-sided t-test' : `paired two-sided randomization test (${o.permutations} sign flips or exact, seed ${o.seed})`;
  return `${lines.join('\n')}\n\nEach claim compares the Avg ${o.measure === 'ndcg_cut_10' ? 'nDCG@10' : o.measure} of two settings over the datasets both have, with the ${test} stratified over datasets; ${correctionName(o.correction)} correction over the ${tested} claim${tested === 1 ? '' : 's'} with data; α = ${o.alpha}. "cannot resolve" means not significant or not run — never evidence against the claim. A ratio claim ("at least r of") tests A − r·B.\n`;
}
