/**
 * Runs a plan: every phase in parent-first order, each trained at most once, then every evaluated model
 * on the test sets, one result file each (lib/report/results.ts).
 *
 * A phase's folder is named by its key (config + parent's key + data checksums, lib/pipelines/phase.ts).
 * `phase.json` in it marks a finished phase (its record: seconds, its parent phase's key, the spec): a
 * second run with nothing changed trains nothing. A folder
 * without it is an interrupted run: training resumes from its last checkpoint. An evaluation whose result
 * file exists for the same model fingerprint and data is not repeated. A phase is trained by one process
 * at a time (`models/.<phase>-<key>.lock`): a second one stops, naming the first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';
import { makeDirs } from '../util/fs-errors';
import { claimLock } from '../util/lock';
import { readJsonFile } from '../util/json';
import { modelFingerprint } from '../models/load';
import { loadEncoder, resolveEngine } from '../models/engine';
import { ColbertModel } from '../models/colbert';
import { presetConfig } from '../models/config';
import type { Encoder } from '../models/encoder';
import { evaluateRetrieval, type EvalDataset } from '../eval/evaluator';
import { evaluate } from '../eval/trec/evaluate';
import { loadBeir, documentText } from '../data/beir';
import { Bm25Index } from '../retrieval/bm25';
import { latestCheckpoint } from '../train/checkpoint';
import { train } from '../train/launch';
import type { RunSummary } from '../train/run';
import { writeResult, RESULT_FORMAT, RESULT_VERSION, type EvaluationResult } from '../report/results';
import { fileSha256, orderPhases, phaseDir, phaseKey, phaseTrainConfig, type PhaseSpec } from './phase';
import type { Plan, PlanFinal } from './pipelines';

export interface TestSet {
  name: string;
  dir: string;
  split: string;
}

export interface RunPlanOptions {
  /** Everything goes under it: models/<phase>-<key>/ and runs/<preset>-<label>-seed<k>.json. */
  resultsDir: string;
  preset: string;
  seed: number;
  testSets: TestSet[];
  /** Evaluated during training (the validation set), recorded in each phase's eval.jsonl. */
  validation?: TestSet[];
  /** Recorded in every result (e.g. the paper-vs-script facts the run chose). */
  notes?: string[];
  /** Code version recorded in results. */
  codeVersion: string;
  /** Measures evaluated (trec_eval -m syntax); nDCG@10 comes first. */
  measures?: string[];
  /** Progress lines (one per phase and evaluation) go here; stderr by default. */
  log?: (line: string) => void;
  /** Disk bytes each phase needs (default: estimated from the backbone's size). */
  bytesPerPhase?: number;
  /** Extra baselines evaluated beside the plan's models (the untrained base, a lexical scorer). */
  baselines?: Baseline[];
  /** The training engine (ort or tfjs; default: CZ_ENGINE, else ort where it loads), recorded with each phase. */
  engine?: string;
}

/** A model evaluated beside the plan's: encoded by `encoder`, or scored by its own `run` of each test set. */
export interface Baseline {
  label: string;
  pipeline: 'base' | 'bm25';
  setting: 'dense' | 'colbert' | 'lexical';
  /** The phase whose model it starts from (the untrained base starts from the MLM backbone). */
  fromPhase?: string;
  encoder?: (phaseModelDir: string) => Promise<Encoder & { dispose?: () => void }>;
  evaluate?: (sets: TestSet[], measures: string[]) => Promise<EvaluationResult['datasets']>;
}

export interface PhaseRecord {
  id: string;
  key: string;
  dir: string;
  modelDir: string;
  trained: boolean;
  seconds: number;
  examplesPerSecond?: number;
  /** The engine that trained it (absent in records written before engines were recorded). */
  engine?: string;
}

export interface RunPlanSummary {
  phases: PhaseRecord[];
  results: string[];
  /** Phases that trained at least one step in this call (a resumed phase counts; one with no step left does not). */
  trainedPhases: number;
  /** Optimizer steps trained in this call, over all phases. */
  trainedSteps: number;
  evaluated: number;
}

const DEFAULT_MEASURES = ['ndcg_cut.10', 'recall.100', 'recip_rank'];

/**
 * Refuses to start when the disk cannot hold what the phases left to train will write: per phase the
 * model, one checkpoint (weights and AdamW's two moments) and the saved model, ~5 copies of the weights.
 */
export function checkDiskSpace(dir: string, phases: PhaseSpec[], bytesPerPhase?: number): void {
  if (phases.length === 0) return;
  const preset = phases[0].init && 'preset' in phases[0].init ? phases[0].init.preset : null;
  const cfg = preset ? presetConfig(preset) : null;
  const params = cfg ? cfg.vocabSize * cfg.hiddenSize + cfg.numLayers * (4 * cfg.hiddenSize * cfg.hiddenSize + 3 * cfg.hiddenSize * cfg.intermediateSize) : 150e6;
  const need = phases.length * (bytesPerPhase ?? 5 * 4 * params);
  const st = fs.statfsSync(dir);
  const free = Number(st.bavail) * Number(st.bsize);
  if (free < need) throw new UserError(`${dir}: ${(free / 1e9).toFixed(2)} GB free, the ${phases.length} phases left to train need about ${(need / 1e9).toFixed(2)} GB (models and checkpoints); free some space or choose another --results`);
}

/** `objective/setting` of a phase in the result schema's words. */
function phaseName(p: PhaseSpec): EvaluationResult['phase'] {
  return p.objective;
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 120);
}

/** Trains what is missing and evaluates every model of the plan; see the module comment. */
export async function runPlan(plan: Plan, o: RunPlanOptions): Promise<RunPlanSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const ordered = orderPhases(plan.phases);
  const checksums = new Map<string, string>();
  const records = new Map<string, PhaseRecord>();
  // Keys first: a missing data file or an unknown parent fails here, before any training.
  const keys = new Map<string, string>();
  for (const p of ordered) keys.set(p.id, phaseKey(p, 'parent' in p.init ? keys.get(p.init.parent)! : null, checksums));
  makeDirs(o.resultsDir, 'results');
  checkDiskSpace(o.resultsDir, ordered.filter((p) => !fs.existsSync(path.join(phaseDir(o.resultsDir, p, keys.get(p.id)!), 'phase.json'))), o.bytesPerPhase);

  // Time left: seconds per example-step measured on phases trained in this run, per objective.
  const rate = new Map<string, number>();
  const estimate = (p: PhaseSpec) => (rate.get(p.objective) ?? [...rate.values()][0] ?? NaN) * p.hyper.steps * p.hyper.batchSize;
  let trained = 0;
  let trainedSteps = 0;
  const started = Date.now();
  for (const [i, p] of ordered.entries()) {
    const key = keys.get(p.id)!;
    const dir = phaseDir(o.resultsDir, p, key);
    const marker = path.join(dir, 'phase.json');
    const modelDir = path.join(dir, 'model');
    const parentKey = 'parent' in p.init ? keys.get(p.init.parent)! : null;
    if (fs.existsSync(marker) && fs.existsSync(modelDir)) {
      const done = readJsonFile(marker) as PhaseRecord & { parentKey?: string | null };
      // Markers written before parentKey was recorded get it now (the report walks a pipeline's phases by it).
      if (done.parentKey === undefined) writeJsonAtomic(marker, { ...done, parentKey });
      records.set(p.id, { ...done, dir, modelDir, trained: false });
      log(`[${i + 1}/${ordered.length}] ${p.id}: done before (${key})`);
      continue;
    }
    const left = ordered.slice(i).filter((q) => !fs.existsSync(path.join(phaseDir(o.resultsDir, q, keys.get(q.id)!), 'phase.json'))).reduce((s, q) => s + estimate(q), 0);
    const eta = Number.isFinite(left) ? `, about ${Math.max(1, Math.round(left / 60))} min of training left` : '';
    log(`[${i + 1}/${ordered.length}] ${p.id}: training ${p.objective} ${p.setting}, ${p.hyper.steps} steps of ${p.hyper.batchSize}${eta}`);
    const parent = 'parent' in p.init ? records.get(p.init.parent) : undefined;
    const config = phaseTrainConfig(p, { parentModel: parent?.modelDir, output: dir, evalDirs: (o.validation ?? []).map((v) => ({ dir: v.dir, name: v.name, split: v.split })) });
    // Beside the phase's folder, not in it (a training output must be new, empty or a run's own).
    const release = claimLock(path.join(path.dirname(dir), `.${path.basename(dir)}.lock`), `phase ${p.id} (${dir})`);
    let rec: PhaseRecord;
    let summary: RunSummary;
    let steps: number;
    try {
      if (fs.existsSync(marker) && fs.existsSync(modelDir)) {
        // Finished by another run between the check above and this lock.
        records.set(p.id, { ...(readJsonFile(marker) as PhaseRecord), dir, modelDir, trained: false });
        log(`[${i + 1}/${ordered.length}] ${p.id}: done meanwhile by another run (${key})`);
        continue;
      }
      const t0 = Date.now();
      summary = await train(config, { resume: latestCheckpoint(dir) !== null, engine: o.engine });
      const seconds = (Date.now() - t0) / 1000;
      steps = summary.steps - summary.startStep;
      if (steps > 0) rate.set(p.objective, seconds / (steps * p.hyper.batchSize));
      rec = { id: p.id, key, dir, modelDir, trained: steps > 0, seconds, examplesPerSecond: steps > 0 ? (steps * p.hyper.batchSize) / seconds : undefined, engine: summary.engine };
      writeJsonAtomic(marker, { ...rec, parentKey, spec: p, finalLoss: summary.finalLoss, lastEval: summary.lastEval ?? null });
    } finally {
      release();
    }
    records.set(p.id, rec);
    // Where an interrupted phase picked up: the steps this call trained, and the checkpoint it resumed from.
    const from = summary.startStep > 0 ? ` (resumed from the checkpoint of step ${summary.startStep})` : '';
    log(`[${i + 1}/${ordered.length}] ${p.id}: ${steps > 0 ? `trained steps ${summary.startStep + 1}-${summary.steps}` : 'no step left to train'}${from}`);
    if (steps > 0) trained++;
    trainedSteps += steps;
  }

  const measures = o.measures ?? DEFAULT_MEASURES;
  const runsDir = path.join(o.resultsDir, 'runs');
  const dataChecksums: Record<string, string> = {};
  for (const [f, sum] of checksums) dataChecksums[path.basename(path.dirname(f)) + '/' + path.basename(f)] = sum;
  for (const t of o.testSets) for (const f of ['corpus.jsonl', 'queries.jsonl', path.join('qrels', `${t.split}.tsv`)]) {
    const file = path.join(t.dir, f);
    if (fs.existsSync(file)) dataChecksums[`${t.name}/${f.split(path.sep).join('/')}`] = fileSha256(file);
  }
  const results: string[] = [];
  let evaluated = 0;
  const evalOne = async (final: PlanFinal | Baseline, id: string, encoderOf: () => Promise<(Encoder & { dispose?: () => void }) | null>, rec: PhaseRecord | undefined, extra: Partial<EvaluationResult>): Promise<void> => {
    const file = path.join(runsDir, `${id}.json`);
    const fingerprint = rec ? modelFingerprint(rec.modelDir) : undefined;
    if (fs.existsSync(file)) {
      const old = readJsonFile(file) as EvaluationResult;
      const same = old.model?.fingerprint === fingerprint && old.label === final.label && old.pipeline === (extra.pipeline ?? null) && JSON.stringify(old.dataChecksums) === JSON.stringify(dataChecksums);
      if (same) {
        results.push(file);
        log(`evaluate ${final.label}: done before`);
        return;
      }
    }
    log(`evaluate ${final.label} on ${o.testSets.map((t) => t.name).join(', ')}`);
    const t0 = Date.now();
    let datasets: EvaluationResult['datasets'];
    const enc = await encoderOf();
    if (enc) {
      const r = await evaluateRetrieval(enc, o.testSets.map((t): EvalDataset => ({ name: t.name, dir: t.dir, split: t.split })), { measures });
      enc.dispose?.();
      datasets = r.datasets.map((d) => ({ name: d.name, split: d.split ?? 'test', queries: Object.keys(d.perQuery).length, metrics: d.metrics, perQuery: d.perQuery }));
    } else {
      datasets = await (final as Baseline).evaluate!(o.testSets, measures);
    }
    const keysOf = Object.keys(datasets[0].metrics).filter((k) => datasets.every((d) => k in d.metrics));
    const mean = Object.fromEntries(keysOf.map((k) => [k, datasets.reduce((s, d) => s + d.metrics[k], 0) / datasets.length]));
    const result: EvaluationResult = {
      format: RESULT_FORMAT,
      version: RESULT_VERSION,
      id,
      kind: 'evaluation',
      preset: o.preset,
      pipeline: null,
      label: final.label,
      phase: null,
      ablation: null,
      seed: o.seed,
      codeVersion: o.codeVersion,
      createdAt: new Date().toISOString(),
      model: { setting: 'colbert', ...(fingerprint ? { fingerprint } : {}) },
      config: {},
      dataChecksums,
      datasets,
      mean,
      wallSeconds: (Date.now() - t0) / 1000,
      ...(o.notes?.length ? { notes: o.notes } : {}),
      ...extra,
    };
    writeResult(runsDir, result, { overwrite: true });
    results.push(file);
    evaluated++;
  };

  for (const f of plan.finals) {
    const rec = records.get(f.phase)!;
    const spec = plan.phases.find((p) => p.id === f.phase)!;
    const id = slug(`${o.preset}-${f.label}-seed${o.seed}`);
    await evalOne(f, id, () => loadEncoder(rec.modelDir, { engine: resolveEngine().engine }), rec, { // ort unless CZ_ENGINE=tfjs
      pipeline: f.pipeline,
      phase: phaseName(spec),
      ablation: f.ablation,
      model: { setting: spec.setting, fingerprint: modelFingerprint(rec.modelDir) },
      config: { phase: spec, key: rec.key, examplesPerSecond: rec.examplesPerSecond, ...(rec.engine ? { engine: rec.engine } : {}) },
      ...(rec.examplesPerSecond ? { examplesPerSecond: rec.examplesPerSecond } : {}),
    });
  }
  for (const b of o.baselines ?? []) {
    const rec = b.fromPhase ? records.get(b.fromPhase) : undefined;
    if (b.fromPhase && !rec) throw new UserError(`baseline ${b.label}: unknown phase ${b.fromPhase}`);
    await evalOne(b, slug(`${o.preset}-${b.label}-seed${o.seed}`), async () => (b.encoder ? b.encoder(rec!.modelDir) : null), rec, {
      pipeline: b.pipeline,
      phase: null,
      model: { setting: b.setting, ...(rec ? { fingerprint: modelFingerprint(rec.modelDir) } : {}) },
      config: { baseline: b.label, ...(rec ? { from: rec.key } : {}) },
    });
  }
  log(`plan done in ${((Date.now() - started) / 1000).toFixed(0)} s: ${trained} phases trained (${trainedSteps} steps), ${ordered.length - trained} reused; ${evaluated} evaluations`);
  return { phases: [...records.values()], results, trainedPhases: trained, trainedSteps, evaluated };
}

/** The untrained base: the MLM backbone with a fresh ColBERT head (PyLate's way), never trained for retrieval. */
export function untrainedBase(o: { dim: number; queryLength: number; documentLength: number; seed: number }): Baseline {
  return {
    label: 'untrained base',
    pipeline: 'base',
    setting: 'colbert',
    fromPhase: 'mlm',
    encoder: (dir) => ColbertModel.fromPretrained(dir, { embeddingSize: o.dim, seed: o.seed, overrides: { query_length: o.queryLength, document_length: o.documentLength } }),
  };
}

/** BM25 (lib/retrieval/bm25.ts: k1 = 0.9, b = 0.4) over each test set's documents as the encoders see them. */
export function bm25Baseline(): Baseline {
  return {
    label: 'BM25',
    pipeline: 'bm25',
    setting: 'lexical',
    evaluate: async (sets, measures) =>
      sets.map((t) => {
        const { corpus, queries, qrels } = loadBeir(t.dir, t.split);
        const index = new Bm25Index(corpus.map((d) => ({ id: d.id, text: documentText(d) })));
        const r = evaluate(qrels, index.run(queries, 100), { measures, complete: true });
        const perQuery = Object.fromEntries([...r.perQuery].map(([q, v]) => [q, v]));
        const metrics = Object.fromEntries(r.measures.filter((m) => m !== 'runid').map((m) => [m, r.all[m]]));
        return { name: t.name, split: t.split, queries: Object.keys(perQuery).length, metrics, perQuery };
      }),
  };
}
