/**
 * The main job: a preset end to end — data, every pipeline (and the ablations the preset asks for),
 * evaluation of each model beside the untrained base, the report — with every artefact under one
 * results folder. Re-running with nothing changed trains nothing; an interrupted run resumes.
 *
 *   await reproduce({ preset: 'smoke', resultsDir: 'results' });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';
import { readJsonFile } from '../util/json';
import { writeSyntheticBeir, writeSyntheticSources } from '../data/synthetic';
import { buildReport } from '../report/report';
import { buildPlan, ablationGrid, PIPELINES, type Plan, type PlanData } from './pipelines';
import { runPlan, untrainedBase, type RunPlanSummary, type TestSet } from './runner';
import { factNotes, presetNamed, withFacts, PAPER_FACTS, type FactChoices, type Preset } from './scales';
import { phaseLengths } from './phase';

export interface ReproduceOptions {
  preset: string;
  resultsDir: string;
  facts?: FactChoices;
  /** Only validate and print the plan. */
  dryRun?: boolean;
  log?: (line: string) => void;
  codeVersion?: string;
}

export interface PresetData {
  plan: PlanData;
  test: TestSet[];
  validation: TestSet[];
}

export interface ReproduceSummary {
  preset: string;
  dryRun: boolean;
  plans: Plan[];
  runs: RunPlanSummary[];
  report?: { markdown: string; files: string[] };
}

/** The project's version for result files: package.json's version and, inside a git checkout, the commit. */
export function codeVersion(root = path.resolve(__dirname, '..', '..')): string {
  const pkg = readJsonFile(path.join(root, 'package.json')) as { version?: string };
  let commit = '';
  try {
    const head = fs.readFileSync(path.join(root, '.git', 'HEAD'), 'utf8').trim();
    const ref = head.startsWith('ref: ') ? path.join(root, '.git', head.slice(5)) : null;
    commit = ref && fs.existsSync(ref) ? fs.readFileSync(ref, 'utf8').trim().slice(0, 12) : head.slice(0, 12);
  } catch {
    // not a git checkout (an installed package): the version alone
  }
  return commit ? `${pkg.version ?? '0'}+${commit}` : (pkg.version ?? '0');
}

/**
 * The synthetic world's files for the smoke preset, written once (atomically) under `dir`: training
 * sources per objective, a test and a validation set drawn separately (no evaluation text is a training
 * text: lib/data/synthetic.ts).
 */
async function syntheticData(dir: string): Promise<PresetData> {
  const marker = path.join(dir, 'sources.json');
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
    test: [{ name: 'synthetic-test', dir: path.join(dir, 'test'), split: 'test' }],
    validation: [{ name: 'synthetic-validation', dir: path.join(dir, 'validation'), split: 'test' }],
  };
}

async function presetData(preset: Preset, dir: string): Promise<PresetData> {
  if (preset.data === 'synthetic') return syntheticData(dir);
  throw new UserError(`preset ${preset.name}: its data (${preset.data}) is not prepared by this version; run --preset smoke`);
}

/** One line per phase of a plan: what it trains, from what, at which lengths. */
export function formatPlan(plan: Plan): string {
  const lines = plan.phases.map((p) => {
    const from = 'parent' in p.init ? p.init.parent : `random ${p.init.preset}`;
    const l = phaseLengths(p);
    const h = p.hyper;
    return `  ${p.id.padEnd(38)} ${p.objective.padEnd(12)} ${p.setting.padEnd(7)} from ${from.padEnd(34)} batch ${String(h.batchSize).padStart(5)}  steps ${String(h.steps).padStart(5)}  q/d ${l.queryLength}/${l.documentLength}  prompts ${p.prompts ? 'on' : 'off'}`;
  });
  const finals = plan.finals.map((f) => `  evaluate ${f.label} (${f.phase})`);
  return [...lines, ...finals].join('\n');
}

/** Runs (or, for a dry run, prints) a preset; see the module comment. */
export async function reproduce(o: ReproduceOptions): Promise<ReproduceSummary> {
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const preset = presetNamed(o.preset);
  const facts = o.facts ?? PAPER_FACTS;
  const scale = withFacts(preset.scale, facts);
  const ablations = preset.ablations === 'none' ? [] : ablationGrid(preset.ablations === 'full');
  const dryRun = o.dryRun || preset.dryRun;
  log(`preset ${preset.name}: ${preset.description}`);
  for (const n of factNotes(facts)) log(`  note: ${n}`);
  log(`  pipelines: ${preset.pipelines.map((p) => `(${p}) ${PIPELINES[p]}`).join('; ')}`);

  const resultsDir = path.resolve(o.resultsDir);
  const data = dryRun && preset.data !== 'synthetic' ? null : await presetData(preset, path.join(resultsDir, 'data', preset.name));
  const planData: PlanData = data?.plan ?? { mlm: [], unsupervised: [], supervised: [], distillation: [] };
  const plans = preset.seeds.map((seed) => buildPlan(scale, planData, { seed, pipelines: preset.pipelines, ablations }));
  if (dryRun) {
    for (const [i, plan] of plans.entries()) log(`seed ${preset.seeds[i]}:\n${formatPlan(plan)}`);
    return { preset: preset.name, dryRun: true, plans, runs: [] };
  }
  const runs: RunPlanSummary[] = [];
  const unsup = scale.hyper.unsupervised;
  for (const [i, plan] of plans.entries()) {
    const seed = preset.seeds[i];
    log(`seed ${seed}: ${plan.phases.length} phases, ${plan.finals.length} models to evaluate`);
    runs.push(
      await runPlan(plan, {
        resultsDir,
        preset: preset.name,
        seed,
        testSets: data!.test,
        validation: data!.validation,
        notes: factNotes(facts),
        codeVersion: o.codeVersion ?? codeVersion(),
        log,
        baselines: [untrainedBase({ dim: scale.dim, queryLength: unsup.queryLength, documentLength: unsup.documentLength, seed })],
      }),
    );
  }
  const report = buildReport(path.join(resultsDir, 'runs'), path.join(resultsDir, 'report'));
  log(`report: ${report.files.join(', ')}`);
  return { preset: preset.name, dryRun: false, plans, runs, report: { markdown: report.markdown, files: report.files } };
}
