/**
 * A run beside the paper (lib/report/compare.ts), training cost per pipeline from phase records
 * (lib/report/phases.ts) and the report's figures (lib/report/report-figures.ts): checked against sums
 * and differences worked out by hand and values copied from the paper's Table 1 and Table 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeResult } from '../lib/report/results';
import { groupSettings, mainTable, ablationTable } from '../lib/report/tables';
import { phaseChain, pipelineRunCosts, readPhaseRecords, trainedModelDir } from '../lib/report/phases';
import { checkpointBesidePaper, checkpointFigure, pipelinesBesidePaper, pipelinesFigure, runCostPoints } from '../lib/report/compare';
import { costFigure, paperCostPoints } from '../lib/paper/figures';
import { ablationDeltaFigure, mainTableFigure } from '../lib/report/report-figures';
import { figureProblems } from '../lib/figures/figures';
import { buildPlan, phaseUse } from '../lib/pipelines/plan';
import { presetNamed } from '../lib/pipelines/presets';
import { presetTestSets } from '../lib/pipelines/reproduce';
import { makeResult, mainSet, better, worse } from './helpers/report';
import { tmpDir } from './helpers/tmp';

// A plan's phases as reproduce records them: id, key, parent's key, setting, seconds.
const PHASES: Array<{ id: string; key: string; parentKey: string | null; parent: string | null; setting: string; objective: string; seconds: number }> = [
  { id: 'mlm', key: 'k-mlm', parentKey: null, parent: null, setting: 'dense', objective: 'mlm', seconds: 10 },
  { id: 'unsupervised-dense', key: 'k-ud', parentKey: 'k-mlm', parent: 'mlm', setting: 'dense', objective: 'unsupervised', seconds: 20 },
  { id: 'supervised-dense', key: 'k-sd', parentKey: 'k-ud', parent: 'unsupervised-dense', setting: 'dense', objective: 'supervised', seconds: 30 },
  { id: 'a/kd-colbert', key: 'k-akd', parentKey: 'k-sd', parent: 'supervised-dense', setting: 'colbert', objective: 'distillation', seconds: 5 },
  { id: 'b/supervised-colbert', key: 'k-bs', parentKey: 'k-ud', parent: 'unsupervised-dense', setting: 'colbert', objective: 'supervised', seconds: 7 },
  { id: 'b/kd-colbert', key: 'k-bkd', parentKey: 'k-bs', parent: 'b/supervised-colbert', setting: 'colbert', objective: 'distillation', seconds: 6 },
  { id: 'c/unsupervised-colbert', key: 'k-cu', parentKey: 'k-mlm', parent: 'mlm', setting: 'colbert', objective: 'unsupervised', seconds: 40 },
  { id: 'c/supervised-colbert', key: 'k-cs', parentKey: 'k-cu', parent: 'c/unsupervised-colbert', setting: 'colbert', objective: 'supervised', seconds: 8 },
  { id: 'c/kd-colbert', key: 'k-ckd', parentKey: 'k-cs', parent: 'c/supervised-colbert', setting: 'colbert', objective: 'distillation', seconds: 9 },
];

function runFolder(o: { legacy?: boolean; duplicateMlm?: boolean } = {}): string {
  const root = tmpDir('costs');
  const phases = o.duplicateMlm ? [...PHASES, { ...PHASES[0], key: 'k-mlm-other' }] : PHASES;
  for (const p of phases) {
    const dir = path.join(root, 'models', `${p.id.replace(/\//g, '_')}-${p.key}`);
    fs.mkdirSync(path.join(dir, 'model'), { recursive: true });
    const rec: Record<string, unknown> = { id: p.id, key: p.key, seconds: p.seconds, trained: true, spec: { id: p.id, objective: p.objective, setting: p.setting, init: p.parent ? { parent: p.parent } : { preset: 'tiny' } } };
    if (!o.legacy) rec.parentKey = p.parentKey;
    fs.writeFileSync(path.join(dir, 'phase.json'), JSON.stringify(rec));
  }
  const runs = path.join(root, 'runs');
  const withKey = (r: ReturnType<typeof makeResult>, key: string) => ({ ...r, config: { key } });
  const [a, b, c, base] = mainSet();
  writeResult(runs, withKey(a, 'k-akd'));
  writeResult(runs, withKey(b, 'k-bkd'));
  writeResult(runs, withKey(c, 'k-ckd'));
  writeResult(runs, withKey(base, 'k-mlm'));
  return root;
}

test('pipelineRunCosts: each pipeline sums its chain of phases; ColBERT phases apart from the backbone and dense ones', () => {
  const root = runFolder();
  const costs = pipelineRunCosts(root, 'smoke');
  assert.deepEqual(costs.map((c) => c.pipeline), ['a', 'b', 'c']);
  // (a): mlm 10 + dense unsup 20 + dense sup 30 + KD 5; ColBERT: the KD only.
  assert.deepEqual(costs.map((c) => [c.colbertSeconds, c.totalSeconds]), [[5, 65], [13, 43], [57, 67]]);
  assert.deepEqual(costs[2].phases.map((p) => p.id), ['mlm', 'c/unsupervised-colbert', 'c/supervised-colbert', 'c/kd-colbert']);
  const [a] = mainSet();
  assert.ok(Math.abs(costs[0].ndcg10 - 100 * a.mean.ndcg_cut_10) < 1e-9);
  assert.deepEqual(runCostPoints(costs, 'total').map((p) => p.cost), [65, 43, 67]);
  assert.equal(trainedModelDir(root, 'smoke', 'c'), path.join(root, 'models', 'c_kd-colbert-k-ckd', 'model'));
  assert.equal(trainedModelDir(root, 'demo', 'c'), null);
});

test('phase records without parentKey: the parent found by its id when unique, an error naming the fix when not', () => {
  const legacy = runFolder({ legacy: true });
  assert.deepEqual(pipelineRunCosts(legacy, 'smoke').map((c) => c.totalSeconds), [65, 43, 67]);
  const ambiguous = runFolder({ legacy: true, duplicateMlm: true });
  assert.throws(() => phaseChain(readPhaseRecords(ambiguous), 'k-ckd'), /2 records have the id "mlm": run reproduce again/);
  // With parentKey recorded the duplicate does not matter.
  assert.equal(phaseChain(readPhaseRecords(runFolder({ duplicateMlm: true })), 'k-ckd').length, 4);
});

test("pipelinesBesidePaper: each run row beside the paper's Table 2 row of the same kind", () => {
  const settings = groupSettings(mainSet()).get('smoke')!;
  const main = mainTable(settings, 'a-distilled');
  const rows = pipelinesBesidePaper(main);
  const by = new Map(rows.map((r) => [r.label, r]));
  // Table 2's Avg column: 54.09 (KD from dense supervised), 55.12 (supervised + KD), 55.43 (ColBERT-Zero distilled).
  assert.equal(by.get('a-distilled')!.paper, 54.09);
  assert.equal(by.get('b-distilled')!.paper, 55.12);
  assert.equal(by.get('c-distilled')!.paper, 55.43);
  assert.equal(by.get('base')!.paper, null);
  assert.equal(by.get('a-distilled')!.baseline, true);
  assert.equal(by.get('c-distilled')!.comparison?.outcome, 'better');
  const c = settings.find((s) => s.label === 'c-distilled')!.results[0];
  assert.ok(Math.abs(by.get('c-distilled')!.run! - 100 * c.mean.ndcg_cut_10) < 1e-9);
  const fig = pipelinesFigure(rows, { preset: 'smoke', datasets: 'alpha, beta' });
  assert.deepEqual(figureProblems(fig), []);
  // Two panels with their own axes: the run's Avg, the paper's BEIR Avg, one row per model.
  assert.deepEqual(fig.data[0].y, ['a-distilled', 'b-distilled', 'c-distilled']);
  assert.deepEqual(fig.data[1].x, [54.09, 55.12, 55.43]);
  assert.deepEqual([fig.data[0].xaxis, fig.data[1].xaxis], ['x', 'x2']);
});

test("paperCostPoints: Table 1's GPU-hours of each pipeline's ColBERT phases against Table 2's Avg", () => {
  // Table 1: KD 8 GH200-hours, supervised 32, unsupervised 368.
  assert.deepEqual(paperCostPoints().map((p) => [p.cost, p.ndcg10]), [[8, 54.09], [40, 55.12], [408, 55.43]]);
  const fig = costFigure(paperCostPoints(), { title: 'paper', x: 'GPU-hours', series: 'paper', logX: true });
  assert.deepEqual(figureProblems(fig), []);
  assert.equal((fig.layout.xaxis as { type?: string }).type, 'log');
  assert.equal(fig.data[0].mode, 'markers+text', 'each point is labelled with its pipeline');
  assert.deepEqual(fig.data[0].text, ['(a) KD-only', '(b) supervised + KD', '(c) ColBERT-Zero']);
});

test("checkpointBesidePaper: the checkpoint's values × 100 beside Table 2's columns for the same sets, BEIR order", () => {
  const t = checkpointBesidePaper({ scifact: 0.5, nfcorpus: 0.25, 'synthetic-test': 0.9 }, { model: 'mine' });
  assert.deepEqual(t.datasets, ['nfcorpus', 'scifact']);
  assert.deepEqual(t.rows[0], { model: 'mine', source: 'this evaluation', values: { nfcorpus: 25, scifact: 50 } });
  const zero = t.rows.find((r) => r.model === 'ColBERT-Zero (full pre-training): Distilled')!;
  // Table 2, ColBERT-Zero distilled: NFCorpus 37.28, SciFact 76.50.
  assert.deepEqual(zero.values, { nfcorpus: 37.28, scifact: 76.5 });
  assert.equal(t.rows.length, 11);
  const fig = checkpointFigure(t);
  assert.deepEqual(figureProblems(fig), []);
  // One dot per dataset for each of the paper's 10 rows (one legend entry), the checkpoint's last and marked.
  assert.equal(fig.data.length, 11);
  assert.deepEqual(fig.data[10].x, [25, 50]);
  assert.deepEqual(fig.data[10].y, ['nfcorpus', 'scifact']);
  assert.equal(fig.data.filter((d) => d.showlegend).length, 2);
});

test('mainTableFigure: one row per model, a dot per dataset and the Avg marked, the cells × 100', () => {
  const main = mainTable(groupSettings(mainSet()).get('smoke')!, 'a-distilled');
  const fig = mainTableFigure(main);
  assert.deepEqual(figureProblems(fig), []);
  assert.deepEqual(fig.data[0].y, main.rows.map((r) => r.label));
  assert.deepEqual(fig.data.map((t) => t.name), ['each dataset', 'each dataset', 'Avg']);
  const a = mainSet()[0];
  const row = main.rows.findIndex((r) => r.label === 'a-distilled');
  assert.ok(Math.abs((fig.data[0].x as number[])[row] - 100 * a.datasets[0].metrics.ndcg_cut_10) < 1e-9);
  assert.ok(Math.abs((fig.data[2].x as number[])[row] - 100 * a.mean.ndcg_cut_10) < 1e-9);
});

test('ablationDeltaFigure: each row minus its reference, per dataset and Avg', () => {
  const ref = makeResult({ id: 'ref', pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: false } });
  const up = makeResult({ id: 'up', pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: true, kdLength: false }, shift: better });
  const down = makeResult({ id: 'down', pipeline: 'a', phase: 'distillation', ablation: { kdPrompts: false, kdLength: true }, shift: worse });
  const t = ablationTable(groupSettings([ref, up, down]).get('smoke')!)!;
  const fig = ablationDeltaFigure(t)!;
  assert.deepEqual(figureProblems(fig), []);
  const z = fig.data[0].z as number[][];
  const ys = fig.data[0].y as string[];
  for (const [r, label] of [[up, 'up'], [down, 'down']] as const) {
    const row = z[ys.indexOf(label)];
    const want = [...r.datasets.map((d, i) => 100 * (d.metrics.ndcg_cut_10 - ref.datasets[i].metrics.ndcg_cut_10)), 100 * (r.mean.ndcg_cut_10 - ref.mean.ndcg_cut_10)];
    want.forEach((w, i) => assert.ok(Math.abs(row[i] - w) < 1e-9, `${label} column ${i}: ${row[i]} vs ${w}`));
  }
  assert.equal(ys.includes('ref'), false);
  assert.equal(ablationDeltaFigure({ ...t, rows: t.rows.filter((r) => r.reference === null) }), null);
});

test('phaseUse: the phases the pipelines share (trained once) and the ones each has alone', () => {
  const preset = presetNamed('smoke');
  const plan = buildPlan(preset.scale, { mlm: [], unsupervised: [], supervised: [], distillation: [] }, { seed: 0 });
  const use = new Map(phaseUse(plan).map((u) => [u.id, u]));
  assert.deepEqual(use.get('mlm')!.pipelines, ['a', 'b', 'c']);
  assert.deepEqual(use.get('unsupervised-dense')!.pipelines, ['a', 'b']);
  assert.deepEqual(use.get('supervised-dense')!.usedBy, ['dense supervised', '(a) KD-only']);
  assert.deepEqual(use.get('c/unsupervised-colbert')!.pipelines, ['c']);
  assert.equal(use.get('c/unsupervised-colbert')!.parent, 'mlm');
  assert.equal(use.size, plan.phases.length);
});

test('presetTestSets: where reproduce keeps each preset\'s test set; none for the paper preset', () => {
  assert.deepEqual(presetTestSets('smoke', '/r'), [{ name: 'synthetic-test', dir: path.resolve('/r/data/synthetic/test'), split: 'test' }]);
  assert.equal(presetTestSets('demo', '/r')[0].name, 'wordnet-test');
  assert.match(presetTestSets('demo', '/r')[0].dir, /^\/r\/data\/wordnet\/sets\//);
  assert.throws(() => presetTestSets('paper', '/r'), /BEIR sets of data-manifests/);
});
