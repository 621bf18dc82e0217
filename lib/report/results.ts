/**
 * Result files: one JSON file per evaluation under `results/runs/`, the only input of `colbert-zero report`.
 *
 * A result records what was evaluated (preset, pipeline, phase, ablation setting, seed, model), how
 * (config, code version, checksums of the data) and what came out: per dataset the metrics and the
 * per-query values (so a paired test can be run later from the file alone), the mean over datasets,
 * wall time and throughput. Metric keys are those `evaluate()` returns (`ndcg_cut_10`, `recall_100`, ...);
 * `ndcg_cut_10` is required everywhere. The schema is documented in `results/README.md`.
 *
 *   writeResult('results/runs', result)   // atomic; refuses to replace a different result with the same id
 *   readResults('results/runs')           // every *.json validated; errors name the file and the key
 *
 * Helpers to fill one in: `datasetResult(name, split, evaluate(qrels, run, ...))`, `meanOverDatasets`,
 * `sha256File` for `dataChecksums`, `codeVersion()` (lib/util/code-version.ts) for `codeVersion`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import type { EvalResult } from '../eval/trec/evaluate';
import { writeJsonAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { canonicalJson, readJsonFile } from '../util/json';

export const RESULT_FORMAT = 'colbert-zero-result';
export const RESULT_VERSION = 1;
/** The metric every result carries and every table reports. */
export const PRIMARY_METRIC = 'ndcg_cut_10';

/** Per-dataset and mean values may disagree with the per-query values by at most this much (rounding). */
const CONSISTENCY_TOLERANCE = 1e-3;

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const SHA256 = /^[0-9a-f]{64}$/;

const finite = z.number().refine((x) => Number.isFinite(x), { message: 'must be a finite number' });
const metrics = z.record(z.string().min(1), finite).refine((m) => PRIMARY_METRIC in m, { message: `must contain "${PRIMARY_METRIC}"` });

const datasetSchema = z
  .object({
    /** The dataset's name as the tables show it (e.g. "scifact", "wordnet-test"). */
    name: z.string().min(1),
    /** The split evaluated ("test", "dev", ...). */
    split: z.string().min(1),
    /** Number of evaluated queries: the number of perQuery entries. */
    queries: z.number().int().min(1),
    /** The dataset's value of each metric (the mean over its queries, as `evaluate().all` gives it). */
    metrics,
    /** Each evaluated query's values, keyed by query id. */
    perQuery: z.record(z.string().min(1), metrics),
  })
  .strict()
  .superRefine((d, ctx) => {
    const qids = Object.keys(d.perQuery);
    if (qids.length !== d.queries) {
      ctx.addIssue({ code: 'custom', path: ['queries'], message: `is ${d.queries} but perQuery has ${qids.length} queries` });
      return;
    }
    for (const key of Object.keys(d.metrics)) {
      if (!qids.every((q) => key in d.perQuery[q])) continue; // a summary-only measure (num_q, a gm_ mean...)
      if (key.startsWith('num_') || key.startsWith('gm_')) continue;
      const mean = qids.reduce((s, q) => s + d.perQuery[q][key], 0) / qids.length;
      if (Math.abs(mean - d.metrics[key]) > CONSISTENCY_TOLERANCE) {
        ctx.addIssue({ code: 'custom', path: ['metrics', key], message: `is ${d.metrics[key]} but the mean of perQuery.*.${key} is ${mean}` });
      }
    }
  });

const ablationSchema = z
  .object({
    /** The unsupervised model was trained with the search_query/search_document prompts. */
    unsupervisedPrompts: z.boolean().optional(),
    /** The supervised phase used the prompts / the +7 query and document lengths. */
    supervisedPrompts: z.boolean().optional(),
    supervisedLength: z.boolean().optional(),
    /** The distillation phase used the prompts / the +7 lengths. */
    kdPrompts: z.boolean().optional(),
    kdLength: z.boolean().optional(),
  })
  .strict();

const PIPELINES = ['a', 'b', 'c', 'base', 'bm25'] as const;
const PHASES = ['mlm', 'unsupervised', 'supervised', 'distillation'] as const;
const SETTINGS = ['dense', 'colbert', 'lexical'] as const;

const resultSchema = z
  .object({
    format: z.literal(RESULT_FORMAT),
    version: z.literal(RESULT_VERSION),
    /** Unique name of this result; the file is `<id>.json`. Letters, digits, '.', '_', '-'. */
    id: z.string().regex(ID, { message: "must be letters, digits, '.', '_' or '-' (at most 200), starting with a letter or digit" }),
    kind: z.literal('evaluation'),
    /** The preset that produced it (smoke, demo, study, paper, or a user's name). Tables never mix presets. */
    preset: z.string().min(1),
    /** (a) KD-only, (b) supervised + KD, (c) ColBERT-Zero, the untrained base, BM25; null for anything else. */
    pipeline: z.enum(PIPELINES).nullable(),
    /** The row name in tables; results with the same label (and preset) are seeds of one setting. */
    label: z.string().min(1),
    /** The last phase the evaluated model went through; null for a model trained by no phase here. */
    phase: z.enum(PHASES).nullable(),
    /** The Tables 3–5 switches this model was trained with; null for the preset's main setting. */
    ablation: ablationSchema.nullable(),
    seed: z.number().int(),
    codeVersion: z.string().min(1),
    createdAt: z.iso.datetime({ offset: true }),
    model: z
      .object({
        fingerprint: z.string().min(1).optional(),
        setting: z.enum(SETTINGS),
        /** ColBERT: what the queries' unattended [MASK] expansion tokens gave ("zeroed": Flash Attention's zeros, the paper's; "scored": eager attention's query expansion). */
        expansionTokens: z.enum(['scored', 'zeroed']).optional(),
      })
      .strict(),
    /** The configuration that produced the model and the evaluation (free form, recorded as given). */
    config: z.record(z.string(), z.unknown()),
    /** sha256 (hex) of every data file or set involved, by name. */
    dataChecksums: z.record(z.string().min(1), z.string().regex(SHA256, { message: 'must be a sha256 in lowercase hex' })),
    datasets: z.array(datasetSchema).min(1),
    /** The mean over datasets of each metric every dataset has. */
    mean: metrics,
    wallSeconds: z.number().min(0),
    examplesPerSecond: z.number().min(0).optional(),
    /**
     * The query and document lengths (tokens, prompts included) the model was encoded at: one for every
     * model of a run (lib/pipelines/plan.ts `evaluationLengths`), so "+Length" changes training only.
     * Absent in results written before it was recorded, and for models that encode nothing (BM25).
     */
    evalLengths: z.object({ queryLength: z.number().int().min(1), documentLength: z.number().int().min(1) }).strict().optional(),
    /** Facts the reader of a table must know (e.g. which temperature or prompt length was used). */
    notes: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.datasets.forEach((d, i) => {
      if (seen.has(d.name)) ctx.addIssue({ code: 'custom', path: ['datasets', i, 'name'], message: `"${d.name}" appears twice` });
      seen.add(d.name);
    });
    for (const key of Object.keys(r.mean)) {
      if (!r.datasets.every((d) => key in d.metrics)) {
        ctx.addIssue({ code: 'custom', path: ['mean', key], message: 'is not a metric of every dataset' });
        continue;
      }
      const avg = r.datasets.reduce((s, d) => s + d.metrics[key], 0) / r.datasets.length;
      if (Math.abs(avg - r.mean[key]) > CONSISTENCY_TOLERANCE) {
        ctx.addIssue({ code: 'custom', path: ['mean', key], message: `is ${r.mean[key]} but the mean over datasets is ${avg}` });
      }
    }
  });

export type EvaluationResult = z.infer<typeof resultSchema>;
export type DatasetResult = EvaluationResult['datasets'][number];
export type Ablation = NonNullable<EvaluationResult['ablation']>;
export type Pipeline = (typeof PIPELINES)[number];

/** A result as read from disk, with the file it came from. */
export interface ResultFile {
  file: string;
  result: EvaluationResult;
}

/** Validates a parsed result; `where` names the file (or the caller) in the one-line error. */
export function parseResult(value: unknown, where: string): EvaluationResult {
  const r = resultSchema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue.path.join('.');
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : '';
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys.map((k) => (at ? `${at}.${k}` : k));
    throw new UserError(`${where}: unknown key ${keys.map((k) => `"${k}"`).join(', ')}${more}`);
  }
  throw new UserError(`${where}: "${at || '(top level)'}": ${issue.message}${more}`);
}

/** The file a result with this id lives in. */
export function resultPath(dir: string, id: string): string {
  return path.join(dir, `${id}.json`);
}

/**
 * Validates `result` and writes it to `<dir>/<id>.json` atomically. An existing file with the same id is
 * left alone when it holds the same result, and is an error when it holds a different one — unless
 * `overwrite` is set. Returns the file's path.
 */
export function writeResult(dir: string, result: EvaluationResult, opts: { overwrite?: boolean } = {}): string {
  const valid = parseResult(result, `result "${(result as { id?: unknown })?.id ?? '(no id)'}"`);
  const file = resultPath(dir, valid.id);
  if (fs.existsSync(file) && !opts.overwrite) {
    let same = false;
    try {
      same = canonicalJson(readJsonFile(file)) === canonicalJson(valid);
    } catch {
      same = false;
    }
    if (same) return file;
    throw new UserError(`${file}: a different result with id "${valid.id}" exists (choose another id, or overwrite it explicitly)`);
  }
  writeJsonAtomic(file, valid);
  return file;
}

/**
 * Reads and validates every `*.json` in `dir` (temporaries of interrupted writers, whose names start
 * with '.', are skipped), sorted by id. A file that does not validate, or whose name is not its id, is
 * an error naming the file and the key.
 */
export function readResults(dir: string): ResultFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new UserError(`cannot read the results folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const out: ResultFile[] = [];
  for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
    const file = path.join(dir, name);
    const result = parseResult(readJsonFile(file), file);
    if (`${result.id}.json` !== name) throw new UserError(`${file}: "id": is "${result.id}" but the file is named ${name} (a result lives in <id>.json)`);
    out.push({ file, result });
  }
  return out;
}

// ── Filling in a result ──

/** One dataset's entry from an `evaluate()` result: its numeric measures and every query's values. */
export function datasetResult(name: string, split: string, evaluation: EvalResult): DatasetResult {
  const perQuery: Record<string, Record<string, number>> = {};
  for (const [qid, values] of evaluation.perQuery) perQuery[qid] = { ...values };
  return { name, split, queries: evaluation.perQuery.size, metrics: { ...evaluation.all }, perQuery };
}

/** The mean over datasets of every metric all of them have (a result's `mean`). */
export function meanOverDatasets(datasets: Array<Pick<DatasetResult, 'metrics'>>): Record<string, number> {
  if (datasets.length === 0) return {};
  const keys = Object.keys(datasets[0].metrics).filter((k) => datasets.every((d) => k in d.metrics));
  return Object.fromEntries(keys.map((k) => [k, datasets.reduce((s, d) => s + d.metrics[k], 0) / datasets.length]));
}

