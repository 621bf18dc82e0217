/**
 * The evaluation half of the plan runner: every evaluated model of a plan, then the baselines, on the test
 * sets, one result file each (lib/report/results.ts) under the results folder's runs/. An evaluation whose
 * result file holds the same model fingerprint and data is not repeated.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { readJsonFile } from '../util/json';
import { resolveEngine, type Engine } from '../backend/engine';
import { ModelFolder } from '../models/model-folder';
import { loadEncoder } from '../models/engine';
import { ColbertModel } from '../models/colbert';
import type { Encoder } from '../models/encoder';
import { evaluateRetrieval, type EvalDataset } from '../eval/evaluator';
import { evaluateBm25 } from '../eval/bm25-eval';
import { writeResult, RESULT_FORMAT, RESULT_VERSION, type EvaluationResult } from '../report/results';
import type { ResultsFolder } from '../report/layout';
import { sha256File } from '../util/hash';
import type { PhaseSpec } from './phase';
import { CONFIG_ST_FILE, PAPER_EXPANSION_TOKENS, parseColbertConfig, type ExpansionTokens } from '../tokenize/colbert-config';
import type { EvaluationLengths, Plan, PlanFinal } from './plan';
import type { FinishedPhase } from './plan-training';

export interface TestSet {
  name: string;
  dir: string;
  split: string;
}

/** A model evaluated beside the plan's: encoded by `encoder`, or scored by its own `run` of each test set. */
export interface Baseline {
  label: string;
  pipeline: 'base' | 'bm25';
  setting: 'dense' | 'colbert' | 'lexical';
  /** The phase whose model it starts from (the untrained base starts from the MLM backbone). */
  fromPhase?: string;
  encoder?: (phaseModelDir: string) => Promise<Encoder & { dispose?: () => void }>;
  /** A ColBERT baseline's expansion-token setting (recorded in its result). */
  expansionTokens?: ExpansionTokens;
  evaluate?: (sets: TestSet[], measures: string[]) => Promise<EvaluationResult['datasets']>;
  /** The lengths its encoder reads at (recorded in its result); none for a baseline that encodes nothing. */
  evalLengths?: EvaluationLengths;
}

/** What the evaluations of one call record and run on. */
export interface EvaluationSettings {
  /** The preset and seed every result records (and its file is named by). */
  preset: string;
  seed: number;
  testSets: TestSet[];
  /** Recorded in every result (e.g. the paper-vs-script facts the run chose). */
  notes?: string[];
  /** Code version recorded in results (lib/util/code-version.ts). */
  codeVersion: string;
  /** Measures evaluated (trec_eval -m syntax); nDCG@10 comes first. */
  measures?: string[];
  /** Extra baselines evaluated beside the plan's models (the untrained base, a lexical scorer). */
  baselines?: Baseline[];
  /** The engine that encodes for evaluation (ort or tfjs; default: CZ_ENGINE, else ort where it loads), the same as training's. */
  engine?: string;
}

const DEFAULT_MEASURES = ['ndcg_cut.10', 'recall.100', 'recip_rank'];

/** The result schema's `phase` of a phase spec: its objective (the setting is recorded in `model.setting`). */
function phaseName(p: PhaseSpec): EvaluationResult['phase'] {
  return p.objective;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120);
}

export type Log = (line: string) => void;

/** sha256 of every data file involved: the training files (by folder/name) and each test set's corpus, queries and qrels. */
export function dataChecksums(trainingChecksums: Map<string, string>, testSets: TestSet[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [f, sum] of trainingChecksums) out[path.basename(path.dirname(f)) + '/' + path.basename(f)] = sum;
  for (const t of testSets) {
    for (const f of ['corpus.jsonl', 'queries.jsonl', path.join('qrels', `${t.split}.tsv`)]) {
      const file = path.join(t.dir, f);
      if (fs.existsSync(file)) out[`${t.name}/${f.split(path.sep).join('/')}`] = sha256File(file);
    }
  }
  return out;
}

/** What every evaluation of one call shares. */
interface EvaluationContext {
  folder: ResultsFolder;
  o: EvaluationSettings;
  measures: string[];
  dataChecksums: Record<string, string>;
  log: Log;
}

/** A model to evaluate: its label, how to encode with it (null: the baseline scores each test set itself), its phase's record, and the result's own fields. */
interface ModelToEvaluate {
  model: PlanFinal | Baseline;
  id: string;
  encoder: () => Promise<(Encoder & { dispose?: () => void }) | null>;
  phase: FinishedPhase | undefined;
  /** The phase's model folder, opened once: its fingerprint keys the result and the ONNX cache alike. */
  modelFolder: ModelFolder | undefined;
  fields: Partial<EvaluationResult>;
}

/** Evaluates one model and writes its result file, unless the file holds this model on this data already. */
async function evaluateModel(m: ModelToEvaluate, c: EvaluationContext): Promise<{ file: string; evaluated: boolean }> {
  const { o, log } = c;
  const file = c.folder.resultFile(m.id);
  const fingerprint = m.modelFolder?.fingerprint();
  if (fs.existsSync(file)) {
    const old = readJsonFile(file) as EvaluationResult;
    const same =
      old.model?.fingerprint === fingerprint &&
      old.label === m.model.label &&
      old.pipeline === (m.fields.pipeline ?? null) &&
      JSON.stringify(old.dataChecksums) === JSON.stringify(c.dataChecksums) &&
      old.model?.expansionTokens === m.fields.model?.expansionTokens &&
      JSON.stringify(old.evalLengths ?? null) === JSON.stringify(m.fields.evalLengths ?? null);
    if (same) {
      log(`evaluate ${m.model.label}: done before`);
      return { file, evaluated: false };
    }
  }
  log(`evaluate ${m.model.label} on ${o.testSets.map((t) => t.name).join(', ')}`);
  const t0 = Date.now();
  let datasets: EvaluationResult['datasets'];
  const enc = await m.encoder();
  if (enc) {
    const r = await evaluateRetrieval(enc, o.testSets.map((t): EvalDataset => ({ name: t.name, dir: t.dir, split: t.split })), { measures: c.measures });
    enc.dispose?.();
    datasets = r.datasets.map((d) => ({ name: d.name, split: d.split ?? 'test', queries: Object.keys(d.perQuery).length, metrics: d.metrics, perQuery: d.perQuery }));
  } else {
    datasets = await (m.model as Baseline).evaluate!(o.testSets, c.measures);
  }
  const keysOf = Object.keys(datasets[0].metrics).filter((k) => datasets.every((d) => k in d.metrics));
  const mean = Object.fromEntries(keysOf.map((k) => [k, datasets.reduce((s, d) => s + d.metrics[k], 0) / datasets.length]));
  const result: EvaluationResult = {
    format: RESULT_FORMAT,
    version: RESULT_VERSION,
    id: m.id,
    kind: 'evaluation',
    preset: o.preset,
    pipeline: null,
    label: m.model.label,
    phase: null,
    ablation: null,
    seed: o.seed,
    codeVersion: o.codeVersion,
    createdAt: new Date().toISOString(),
    model: { setting: 'colbert', ...(fingerprint ? { fingerprint } : {}) },
    config: {},
    dataChecksums: c.dataChecksums,
    datasets,
    mean,
    wallSeconds: (Date.now() - t0) / 1000,
    ...(o.notes?.length ? { notes: o.notes } : {}),
    ...m.fields,
  };
  writeResult(c.folder.runsDir, result, { overwrite: true });
  return { file, evaluated: true };
}

/**
 * How an encoder reads at the plan's evaluation lengths: a ColBERT folder's query and document lengths, a
 * dense folder's max_seq_length (its documents' length; its queries are short). None without them.
 */
export function evaluationLoadOptions(lengths: EvaluationLengths | undefined): { colbert?: { overrides: { query_length: number; document_length: number } }; dense?: { maxSeqLength: number } } {
  if (!lengths) return {};
  return { colbert: { overrides: { query_length: lengths.queryLength, document_length: lengths.documentLength } }, dense: { maxSeqLength: lengths.documentLength } };
}

/**
 * The phase spec a result records: its data files relative to the results folder, so a committed result
 * names no path of the machine that ran it (the data's contents are in `dataChecksums`).
 */
function recordedSpec(spec: PhaseSpec, resultsRoot: string): PhaseSpec {
  const root = path.resolve(resultsRoot);
  return { ...spec, data: spec.data.map((f) => path.relative(root, path.resolve(f)).split(path.sep).join('/')) };
}

/** The plan's evaluated models, then the baselines, one at a time: a baseline's unknown phase stops the call at its turn. */
function* modelsToEvaluate(plan: Plan, records: Map<string, FinishedPhase>, o: EvaluationSettings, engine: Engine, resultsRoot: string): Generator<ModelToEvaluate> {
  for (const f of plan.finals) {
    const rec = records.get(f.phase)!;
    const spec = plan.phases.find((p) => p.id === f.phase)!;
    const modelFolder = ModelFolder.open(rec.modelDir);
    yield {
      model: f,
      id: slug(`${o.preset}-${f.label}-seed${o.seed}`),
      encoder: () => loadEncoder(modelFolder, { engine, ...evaluationLoadOptions(plan.evaluation) }),
      phase: rec,
      modelFolder,
      fields: {
        pipeline: f.pipeline,
        phase: phaseName(spec),
        ablation: f.ablation,
        ...(plan.evaluation ? { evalLengths: plan.evaluation } : {}),
        model: { setting: spec.setting, fingerprint: modelFolder.fingerprint(), ...expansionOf(modelFolder) },
        config: { phase: recordedSpec(spec, resultsRoot), key: rec.key, examplesPerSecond: rec.examplesPerSecond, ...(rec.engine ? { engine: rec.engine } : {}) },
        ...(rec.examplesPerSecond ? { examplesPerSecond: rec.examplesPerSecond } : {}),
      },
    };
  }
  for (const b of o.baselines ?? []) {
    const rec = b.fromPhase ? records.get(b.fromPhase) : undefined;
    if (b.fromPhase && !rec) throw new UserError(`baseline ${b.label}: unknown phase ${b.fromPhase}`);
    const modelFolder = rec ? ModelFolder.open(rec.modelDir) : undefined;
    yield {
      model: b,
      id: slug(`${o.preset}-${b.label}-seed${o.seed}`),
      encoder: async () => (b.encoder ? b.encoder(rec!.modelDir) : null),
      phase: rec,
      modelFolder,
      fields: {
        pipeline: b.pipeline,
        phase: null,
        ...(b.evalLengths ? { evalLengths: b.evalLengths } : {}),
        model: { setting: b.setting, ...(modelFolder ? { fingerprint: modelFolder.fingerprint() } : {}), ...(b.expansionTokens ? { expansionTokens: b.expansionTokens } : {}) },
        config: { baseline: b.label, ...(rec ? { from: rec.key } : {}) },
      },
    };
  }
}

/** Evaluates the plan's models and the baselines in order; returns every result file and how many were evaluated in this call. */
export async function evaluatePlan(plan: Plan, records: Map<string, FinishedPhase>, o: EvaluationSettings, folder: ResultsFolder, checksums: Record<string, string>, log: Log): Promise<{ results: string[]; evaluated: number }> {
  const engine = resolveEngine(o.engine).engine;
  const context: EvaluationContext = { folder, o, measures: o.measures ?? DEFAULT_MEASURES, dataChecksums: checksums, log };
  const results: string[] = [];
  let evaluated = 0;
  for (const m of modelsToEvaluate(plan, records, o, engine, folder.root)) {
    const r = await evaluateModel(m, context);
    results.push(r.file);
    if (r.evaluated) evaluated++;
  }
  return { results, evaluated };
}

/** A ColBERT folder's expansion-token setting, for its result (a folder without the key: "scored"). */
function expansionOf(folder: ModelFolder): { expansionTokens?: ExpansionTokens } {
  const st = folder.sentenceTransformers;
  if (folder.kind !== 'colbert' || !st) return {};
  return { expansionTokens: parseColbertConfig(st, path.join(folder.dir, CONFIG_ST_FILE)).expansion_tokens };
}

/**
 * The untrained base: the MLM backbone with a fresh ColBERT head (PyLate's way), never trained for
 * retrieval; its expansion tokens as the paper's phases have them (zeroed) unless `expansionTokens` says.
 */
export function untrainedBase(o: { dim: number; queryLength: number; documentLength: number; seed: number; expansionTokens?: ExpansionTokens }): Baseline {
  const expansionTokens = o.expansionTokens ?? PAPER_EXPANSION_TOKENS;
  return {
    label: 'untrained base',
    pipeline: 'base',
    setting: 'colbert',
    fromPhase: 'mlm',
    evalLengths: { queryLength: o.queryLength, documentLength: o.documentLength },
    expansionTokens,
    encoder: (dir) => ColbertModel.fromPretrained(dir, { embeddingSize: o.dim, seed: o.seed, overrides: { query_length: o.queryLength, document_length: o.documentLength, expansion_tokens: expansionTokens } }),
  };
}

/** BM25 (lib/retrieval/bm25.ts: k1 = 0.9, b = 0.4) over each test set's documents as the encoders see them. */
export function bm25Baseline(): Baseline {
  return {
    label: 'BM25',
    pipeline: 'bm25',
    setting: 'lexical',
    evaluate: async (sets, measures) =>
      evaluateBm25(sets.map((t) => ({ name: t.name, dir: t.dir, split: t.split })), { k: 100, measures }).datasets.map((d, i) => ({
        name: d.name,
        split: sets[i].split,
        queries: Object.keys(d.perQuery).length,
        metrics: d.metrics,
        perQuery: d.perQuery,
      })),
  };
}
