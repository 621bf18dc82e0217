/**
 * Small, internally consistent result sets for the report tests: per-query nDCG@10 values come from a
 * deterministic function of (dataset, query), shifted per system; dataset metrics and means are their
 * exact means, as `evaluate` would write them.
 */
import type { EvaluationResult } from '../../lib/report/results';

/** A deterministic value in [0, 1) for (dataset, query index). */
export function pseudo(dataset: string, q: number): number {
  let h = 2166136261;
  for (const ch of `${dataset}:${q}`) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return ((h >>> 0) % 100000) / 100000;
}

/** Per-query values of a baseline-like system: 0.2–0.8. */
export function baseValues(dataset: string, n: number): number[] {
  return Array.from({ length: n }, (_, q) => 0.2 + 0.6 * pseudo(dataset, q));
}

export const DATASETS: Record<string, number> = { alpha: 40, beta: 30 };

export interface MakeOptions {
  id: string;
  label?: string;
  pipeline?: EvaluationResult['pipeline'];
  phase?: EvaluationResult['phase'];
  ablation?: EvaluationResult['ablation'];
  seed?: number;
  preset?: string;
  /** dataset name → per-query nDCG@10 (query ids q0, q1, ...). Default: baseValues shifted by `shift`. */
  values?: Record<string, number[]>;
  shift?: (dataset: string, q: number, v: number) => number;
  datasets?: Record<string, number>;
  checksums?: Record<string, string>;
  codeVersion?: string;
}

const SHA = (c: string) => c.repeat(64).slice(0, 64);

export function makeResult(o: MakeOptions): EvaluationResult {
  const sizes = o.datasets ?? DATASETS;
  const values = o.values ?? Object.fromEntries(Object.entries(sizes).map(([name, n]) => [name, baseValues(name, n).map((v, q) => (o.shift ? o.shift(name, q, v) : v))]));
  const datasets = Object.entries(values).map(([name, vals]) => {
    const perQuery = Object.fromEntries(vals.map((v, q) => [`q${q}`, { ndcg_cut_10: v, recall_100: Math.min(1, v + 0.1) }]));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    return { name, split: 'test', queries: vals.length, metrics: { ndcg_cut_10: mean(vals), recall_100: mean(vals.map((v) => Math.min(1, v + 0.1))) }, perQuery };
  });
  const avg = (k: 'ndcg_cut_10' | 'recall_100') => datasets.reduce((s, d) => s + d.metrics[k], 0) / datasets.length;
  return {
    format: 'colbert-zero-result',
    version: 1,
    id: o.id,
    kind: 'evaluation',
    preset: o.preset ?? 'smoke',
    pipeline: o.pipeline === undefined ? null : o.pipeline,
    label: o.label ?? o.id,
    phase: o.phase === undefined ? null : o.phase,
    ablation: o.ablation === undefined ? null : o.ablation,
    seed: o.seed ?? 0,
    codeVersion: o.codeVersion ?? '0.1.0+test',
    createdAt: '2026-01-30T12:00:00.000Z',
    model: { setting: o.pipeline === 'bm25' ? 'lexical' : 'colbert' },
    config: { note: 'made up for a test' },
    dataChecksums: o.checksums ?? Object.fromEntries(Object.keys(values).map((n) => [n, SHA('ab')])),
    datasets,
    mean: { ndcg_cut_10: avg('ndcg_cut_10'), recall_100: avg('recall_100') },
    wallSeconds: 1.5,
    examplesPerSecond: 100,
  };
}

/** ±0.01 alternating: the same mean as the input (for an even count of queries), but not identical. */
export const wobble = (_d: string, q: number, v: number) => v + (q % 2 === 0 ? 0.01 : -0.01);
/** A clear improvement with some per-query noise. */
export const better = (d: string, q: number, v: number) => Math.min(1, v + 0.08 + 0.04 * (pseudo(d + '+', q) - 0.5));
/** A clear loss. */
export const worse = (d: string, q: number, v: number) => Math.max(0, v - 0.1 + 0.04 * (pseudo(d + '-', q) - 0.5));

/** The main pipelines of one preset: a (baseline), b equal to a, c clearly better, the base model clearly worse. */
export function mainSet(): EvaluationResult[] {
  return [
    makeResult({ id: 'a-distilled', pipeline: 'a', phase: 'distillation' }),
    makeResult({ id: 'b-distilled', pipeline: 'b', phase: 'distillation', shift: wobble }),
    makeResult({ id: 'c-distilled', pipeline: 'c', phase: 'distillation', shift: better }),
    makeResult({ id: 'base', pipeline: 'base', phase: null, shift: worse }),
  ];
}
