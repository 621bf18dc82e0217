/**
 * Training cost per pipeline, from the files a run leaves: the result files (`<results>/runs/*.json`, each
 * naming its model's phase key in `config.key`) and the phase records (`<results>/models/<phase>/phase.json`:
 * the phase's seconds, its parent's key and its spec; lib/report/layout.ts). A pipeline's cost is the sum over the chain of
 * phases its final model went through, walked from the final phase up through the parents' keys.
 *
 * Two sums, because the paper counts one of them: `colbertSeconds` (the phases trained in the ColBERT
 * setting, what Table 1's GPU-hours count for each pipeline: the backbone and the dense phases that (a) and
 * (b) start from were trained by others) and `totalSeconds` (every phase of the chain, the backbone and
 * dense phases included, which this run did train). A phase shared by several pipelines (trained once)
 * counts in each pipeline that uses it.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { isMainSetting } from './tables';
import { readResults, type EvaluationResult } from './results';
import { ResultsFolder } from './layout';

/** A phase record (lib/report/layout.ts) as the cost walk reads it. */
export interface PhaseRecordFile {
  /** The phase's id in its plan ("c/kd-colbert-p111-l11"). */
  id: string;
  key: string;
  /** The parent phase's key; null for a phase from a random init; undefined where the record lacks it. */
  parentKey?: string | null;
  /** The parent phase's id (from the spec), null when there is none. */
  parentId: string | null;
  objective: string;
  setting: string;
  seconds: number;
  /** The phase's folder and its model folder. */
  dir: string;
  modelDir: string;
}

/** Every phase record under `<resultsDir>/models/`, by key (an empty map when there is no models folder). */
export function readPhaseRecords(resultsDir: string): Map<string, PhaseRecordFile> {
  const out = new Map<string, PhaseRecordFile>();
  for (const phase of new ResultsFolder(resultsDir).phases()) {
    if (!phase.hasRecord()) continue; // an interrupted phase: no record yet
    const r = phase.readRecord();
    out.set(r.key, {
      id: r.id,
      key: r.key,
      ...(r.parentKey !== undefined ? { parentKey: r.parentKey } : {}),
      parentId: r.spec.init?.parent ?? null,
      objective: r.spec.objective,
      setting: r.spec.setting,
      seconds: r.seconds,
      dir: phase.dir,
      modelDir: phase.modelDir,
    });
  }
  return out;
}

/** The chain of phases ending at `key`, first phase first. */
export function phaseChain(records: Map<string, PhaseRecordFile>, key: string): PhaseRecordFile[] {
  const chain: PhaseRecordFile[] = [];
  let cur = records.get(key);
  if (!cur) throw new UserError(`no phase record with key ${key} (was the models folder moved or cleaned?)`);
  while (cur) {
    chain.unshift(cur);
    if (chain.length > 64) throw new UserError(`phase ${cur.id}: the parent chain loops`);
    let parentKey: string | null | undefined = cur.parentKey;
    if (parentKey === undefined && cur.parentId !== null) {
      // A record without parentKey: its parent is the one record with that id, when there is one.
      const byId = [...records.values()].filter((r) => r.id === cur!.parentId);
      if (byId.length !== 1) throw new UserError(`phase ${cur.id} (${cur.key}) does not record its parent's key and ${byId.length} records have the id "${cur.parentId}": run reproduce again (it records the key without retraining)`);
      parentKey = byId[0].key;
    }
    if (parentKey === null || parentKey === undefined) break;
    const next = records.get(parentKey);
    if (!next) throw new UserError(`phase ${cur.id}: its parent's record (${parentKey}) is missing`);
    cur = next;
  }
  return chain;
}

export interface PipelineRunCost {
  pipeline: 'a' | 'b' | 'c';
  label: string;
  /** The result's nDCG@10 (mean over its datasets, × 100; mean over seeds when there are several). */
  ndcg10: number;
  colbertSeconds: number;
  totalSeconds: number;
  seeds: number;
  /** One seed's chain (the first seed's), phase by phase. */
  phases: Array<{ id: string; objective: string; setting: string; seconds: number }>;
}

function configKey(r: EvaluationResult): string {
  const k = (r.config as { key?: unknown }).key;
  if (typeof k !== 'string') throw new UserError(`result ${r.id}: config.key is missing (not written by reproduce)`);
  return k;
}

/**
 * The training cost of each pipeline's final (distilled, main-setting) model of `preset`, from
 * `<resultsDir>/runs` and `<resultsDir>/models`; seconds are averaged over seeds.
 */
export function pipelineRunCosts(resultsDir: string, preset: string): PipelineRunCost[] {
  const runs = new ResultsFolder(resultsDir).runsDir;
  const results = readResults(runs).map((f) => f.result).filter((r) => r.preset === preset);
  if (results.length === 0) throw new UserError(`${runs}: no result of preset ${preset}`);
  const records = readPhaseRecords(resultsDir);
  const out: PipelineRunCost[] = [];
  for (const p of ['a', 'b', 'c'] as const) {
    const finals = results.filter((r) => r.pipeline === p && r.phase === 'distillation' && isMainSetting(r.ablation));
    if (finals.length === 0) continue;
    const labels = [...new Set(finals.map((r) => r.label))];
    if (labels.length > 1) throw new UserError(`preset ${preset}: pipeline (${p}) has several final rows (${labels.join(', ')})`);
    const chains = finals.map((r) => phaseChain(records, configKey(r)));
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    out.push({
      pipeline: p,
      label: labels[0],
      ndcg10: 100 * mean(finals.map((r) => r.mean.ndcg_cut_10)),
      colbertSeconds: mean(chains.map((c) => c.filter((x) => x.setting === 'colbert').reduce((s, x) => s + x.seconds, 0))),
      totalSeconds: mean(chains.map((c) => c.reduce((s, x) => s + x.seconds, 0))),
      seeds: finals.length,
      phases: chains[0].map((x) => ({ id: x.id, objective: x.objective, setting: x.setting, seconds: x.seconds })),
    });
  }
  return out;
}

/** The model folder of a pipeline's final main-setting model of `preset` (seed `seed`, default the lowest), or null when not run. */
export function trainedModelDir(resultsDir: string, preset: string, pipeline: 'a' | 'b' | 'c' = 'c', seed?: number): string | null {
  const runs = new ResultsFolder(resultsDir).runsDir;
  if (!fs.existsSync(runs)) return null;
  const finals = readResults(runs)
    .map((f) => f.result)
    .filter((r) => r.preset === preset && r.pipeline === pipeline && r.phase === 'distillation' && isMainSetting(r.ablation) && (seed === undefined || r.seed === seed))
    .sort((x, y) => x.seed - y.seed);
  if (finals.length === 0) return null;
  const rec = readPhaseRecords(resultsDir).get(configKey(finals[0]));
  return rec && fs.existsSync(rec.modelDir) ? rec.modelDir : null;
}
