/** The paper's pipelines as phase graphs: shared phases once, keys that follow config, parent and data; Table 1 at paper scale. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPlan, ablationGrid, phaseUse, MAIN_SETTING, type PlanAblation } from '../lib/pipelines/plan';
import { ablationRows } from '../lib/paper/tables';
import { orderPhases, phaseKey, phaseLengths, phaseTrainConfig } from '../lib/pipelines/phase';
import { PRESETS, withFacts, PAPER_FACTS, paperLearningRateSweep, paperScale, presetScale, factNotes } from '../lib/pipelines/presets';
import { trainingSettings } from '../lib/paper/training';
import { checkDiskSpace } from '../lib/pipelines/plan-training';
import { reproduce } from '../lib/pipelines/reproduce';
import { finalModels, modelDirOf } from '../lib/pipelines/phase-models';
import { runCli } from './helpers/cli';
import { evaluationLoadOptions } from '../lib/pipelines/plan-evaluation';
import { loadEncoder } from '../lib/models/engine';
import type { ColbertModel } from '../lib/models/colbert';
import type { DenseModel } from '../lib/models/dense';
import { tmpDir } from './train-helpers/fixtures';

function files(dir: string) {
  const f = (n: string) => {
    const p = path.join(dir, `${n}.jsonl`);
    fs.writeFileSync(p, `{"n":"${n}"}\n`);
    return [p];
  };
  return { mlm: f('mlm'), unsupervised: f('unsupervised'), supervised: f('supervised'), distillation: f('distillation') };
}

test('pipelines a, b, c: the dense unsupervised phase is shared by (a) and (b); (c) never runs a dense phase', () => {
  const plan = buildPlan(PRESETS.smoke.scale, files(tmpDir('plan')), { seed: 0 });
  const ids = plan.phases.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  const parentOf = (id: string) => (plan.phases.find((p) => p.id === id)!.init as { parent: string }).parent;
  assert.equal(parentOf('a/kd-colbert'), 'supervised-dense');
  assert.equal(parentOf('supervised-dense'), 'unsupervised-dense');
  assert.equal(parentOf('b/supervised-colbert'), 'unsupervised-dense');
  const chain = (id: string): string[] => ('parent' in plan.phases.find((p) => p.id === id)!.init ? [...chain(parentOf(id)), id] : [id]);
  const c = plan.finals.find((f) => f.label === '(c) ColBERT-Zero')!;
  assert.deepEqual(chain(c.phase).map((id) => plan.phases.find((p) => p.id === id)!.setting), ['dense', 'colbert', 'colbert', 'colbert']); // MLM, then ColBERT only
  assert.deepEqual(orderPhases(plan.phases).map((p) => p.id).indexOf('mlm'), 0);
});

test('phase keys change with the settings, the parent and the data, and nothing else', () => {
  const dir = tmpDir('keys');
  const data = files(dir);
  const plan = buildPlan(PRESETS.smoke.scale, data, { seed: 0 });
  const p = plan.phases.find((x) => x.id === 'b/supervised-colbert')!;
  const sums = new Map<string, string>();
  const k = phaseKey(p, 'parent1', sums);
  assert.equal(phaseKey({ ...p, id: 'renamed' }, 'parent1', sums), k, 'the id is a name, not a setting');
  assert.notEqual(phaseKey(p, 'parent2', sums), k);
  assert.notEqual(phaseKey({ ...p, prompts: false }, 'parent1', sums), k);
  assert.notEqual(phaseKey({ ...p, hyper: { ...p.hyper, lr: p.hyper.lr * 2 } }, 'parent1', sums), k);
  fs.appendFileSync(data.supervised[0], '{"n":"more"}\n');
  assert.notEqual(phaseKey(p, 'parent1', new Map()), k, 'new data, new key');
});

test("the ablation grid is Table 4's rows for all three pipelines; the full grid every combination each pipeline trains", () => {
  const grid = ablationGrid(false);
  const count = (g: PlanAblation[], p: string) => g.filter((x) => x.pipeline === p).length;
  assert.deepEqual([count(grid, 'a'), count(grid, 'b'), count(grid, 'c')], [4, 4, 6]);
  const full = ablationGrid(true);
  assert.deepEqual([count(full, 'a'), count(full, 'b'), count(full, 'c')], [4, 16, 32]);
  for (const p of ['a', 'b', 'c']) assert.ok(grid.some((x) => x.pipeline === p && JSON.stringify(x.ablation) === JSON.stringify(MAIN_SETTING)), p);
  const plan = buildPlan(PRESETS.smoke.scale, files(tmpDir('grid')), { seed: 0, ablations: grid });
  const phaseOf = (id: string) => plan.phases.find((p) => p.id === id)!;
  // Every trained row of the paper's Table 4 is one evaluated model of the plan: same pipeline, phase and
  // switches (the † row is the "no prompt, no length" model evaluated longer, which every model here is).
  const group = (g: string) => (g.startsWith('KD from dense') ? 'a' : g.includes('dense unsupervised') ? 'b' : g.includes('without prompts') ? 'c-u0' : 'c-u1');
  const rows = ablationRows().filter((r) => r.length !== 'eval-only');
  assert.equal(rows.length, 24);
  const finals = plan.finals.filter((f) => f.pipeline === 'a' || f.pipeline === 'b' || f.pipeline === 'c');
  const describe = (f: (typeof finals)[number]) => {
    const spec = phaseOf(f.phase);
    const u = f.pipeline === 'c' ? (f.ablation!.unsupervisedPrompts ? '-u1' : '-u0') : '';
    return `${f.pipeline}${u} ${spec.objective} prompt ${spec.prompts} length ${spec.extraLength}`;
  };
  const paper = rows.map((r) => `${group(r.group ?? '')} ${r.label === 'Supervised' ? 'supervised' : 'distillation'} prompt ${r.prompt} length ${r.length === true}`).sort();
  assert.deepEqual(finals.map(describe).sort(), paper);
  // (a)'s KD phases all start from the one dense supervised model; (b)'s from the dense unsupervised one.
  for (const f of finals.filter((x) => x.pipeline === 'a')) assert.equal((phaseOf(f.phase).init as { parent: string }).parent, 'supervised-dense');
  for (const f of finals.filter((x) => x.pipeline === 'b' && phaseOf(x.phase).objective === 'supervised')) assert.equal((phaseOf(f.phase).init as { parent: string }).parent, 'unsupervised-dense');
  // Phases shared between rows are one phase (trained once): 3 dense phases + MLM, 4 KD for (a), 4 + 4 for (b), 2 + 6 + 6 for (c).
  assert.equal(plan.phases.length, 1 + 2 + 4 + 8 + 14);
  assert.equal(new Set(plan.phases.map((p) => p.id)).size, plan.phases.length);
  assert.ok(phaseUse(plan).find((u) => u.id === 'supervised-dense')!.usedBy.length >= 5);
  // One label per model, short enough for its result file's name; the main settings keep their labels.
  const labels = plan.finals.map((f) => f.label);
  assert.equal(new Set(labels).size, labels.length);
  for (const l of ['(a) KD-only', '(b) supervised + KD', '(b) supervised + KD, supervised', '(c) ColBERT-Zero', '(c) ColBERT-Zero, supervised', 'dense supervised']) assert.ok(labels.includes(l), l);
  const fullPlan = buildPlan(PRESETS.smoke.scale, files(tmpDir('grid-full')), { seed: 0, ablations: full });
  const fullLabels = fullPlan.finals.map((f) => f.label);
  assert.equal(new Set(fullLabels).size, fullLabels.length);
  assert.ok(fullLabels.every((l) => l.length <= 105), 'labels fit a result id');
  assert.equal(fullPlan.phases.filter((p) => p.objective === 'distillation').length, 4 + 16 + 32);
  // (a) and (b) start from the dense models, trained with prompts: other switches there are refused.
  assert.throws(() => buildPlan(PRESETS.smoke.scale, files(tmpDir('grid-bad')), { seed: 0, ablations: [{ pipeline: 'a', ablation: { ...MAIN_SETTING, supervisedPrompts: false } }] }), /pipeline \(a\) distils the dense supervised model/);
  assert.throws(() => buildPlan(PRESETS.smoke.scale, files(tmpDir('grid-bad')), { seed: 0, ablations: [{ pipeline: 'b', ablation: { ...MAIN_SETTING, unsupervisedPrompts: false } }] }), /pipeline \(b\) starts from the dense unsupervised model/);
});

test('every model of a plan is evaluated at one length, the longest training length, with or without the ablations', () => {
  const data = files(tmpDir('eval-lengths'));
  const h = PRESETS.smoke.scale.hyper;
  const plain = buildPlan(PRESETS.smoke.scale, data, { seed: 0 });
  const grid = buildPlan(PRESETS.smoke.scale, data, { seed: 0, ablations: ablationGrid(false) });
  const longest = { queryLength: Math.max(h.supervised.queryLength, h.distillation.queryLength) + 7, documentLength: Math.max(h.supervised.documentLength, h.distillation.documentLength) + 7 };
  assert.deepEqual(plain.evaluation, longest);
  assert.deepEqual(grid.evaluation, longest);
  // The rows trained without "+Length" are shorter than the length they are evaluated at.
  const short = grid.finals.filter((f) => f.ablation && !f.ablation.kdLength && grid.phases.find((p) => p.id === f.phase)!.objective === 'distillation');
  assert.ok(short.length >= 5);
  for (const f of short) assert.ok(phaseLengths(grid.phases.find((p) => p.id === f.phase)!).queryLength < grid.evaluation!.queryLength);
  // The tokenizer's "+Length" of 4 moves it with the training lengths.
  const four = buildPlan(withFacts(PRESETS.smoke.scale, { ...PAPER_FACTS, promptLength: 'tokenizer' }), data, { seed: 0 });
  assert.equal(four.evaluation!.queryLength, longest.queryLength - 3);
});

test("ColBERT phases train with the paper's expansion tokens (zeroed: Flash Attention) unless the spec says; it is part of their key", () => {
  const dir = tmpDir('expansion');
  const plan = buildPlan(PRESETS.smoke.scale, files(dir), { seed: 0 });
  for (const p of plan.phases) {
    const cfg = phaseTrainConfig(p, { parentModel: 'parent-model', output: 'out' });
    const model = cfg.model as { expansionTokens?: string };
    if (p.setting === 'colbert' && p.objective !== 'mlm') assert.equal(model.expansionTokens, 'zeroed', `${p.id}: zeroed`);
    else assert.equal(model.expansionTokens, undefined, `${p.id}: no ColBERT setting`);
  }
  const colbert = plan.phases.find((x) => x.id === 'b/supervised-colbert')!;
  assert.equal((phaseTrainConfig({ ...colbert, expansionTokens: 'scored' }, { parentModel: 'm', output: 'o' }).model as { expansionTokens?: string }).expansionTokens, 'scored');
  const sums = new Map<string, string>();
  const k = phaseKey(colbert, 'parent1', sums);
  assert.equal(phaseKey({ ...colbert, expansionTokens: 'zeroed' }, 'parent1', sums), k, 'the default is the paper\'s');
  assert.notEqual(phaseKey({ ...colbert, expansionTokens: 'scored' }, 'parent1', sums), k);
  const dense = plan.phases.find((x) => x.setting === 'dense' && x.objective !== 'mlm')!;
  assert.equal(phaseKey({ ...dense, expansionTokens: 'scored' }, null, sums), phaseKey(dense, null, sums), 'dense phases: no such setting');
});

test('prompts and "+Length" reach the training config; the tokenizer fact shortens +Length to 4', () => {
  const data = files(tmpDir('facts'));
  const sup = (scale: typeof PRESETS.smoke.scale) => buildPlan(scale, data, { seed: 0 }).phases.find((p) => p.id === 'b/supervised-colbert')!;
  const p = sup(PRESETS.smoke.scale);
  const cfg = phaseTrainConfig(p, { parentModel: 'parent-model', output: 'out' });
  assert.deepEqual((cfg.model as { prompts?: unknown }).prompts, { query: 'search_query: ', document: 'search_document: ' });
  assert.equal((cfg.model as { queryLength: number }).queryLength, PRESETS.smoke.scale.hyper.supervised.queryLength + 7);
  const short = sup(withFacts(PRESETS.smoke.scale, { ...PAPER_FACTS, promptLength: 'tokenizer' }));
  assert.equal(phaseLengths(short).queryLength, PRESETS.smoke.scale.hyper.supervised.queryLength + 4);
  const t = withFacts(PRESETS.smoke.scale, { ...PAPER_FACTS, unsupervisedTemperature: 'script' });
  assert.equal(t.hyper.unsupervised.temperature, 0.02);
});

test('reproduce --preset paper prints the plan with Table 1 and its GPU-hours, and trains nothing', () => {
  const dir = tmpDir('paper');
  const r = runCli(['reproduce', '--preset', 'paper', '--results', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /c\/unsupervised-colbert +unsupervised colbert from mlm +batch 16384 +q\/d 39\/187 +prompts on +368 GPU-h \(32 × GH200\)/);
  assert.match(r.stderr, /a\/kd-colbert +distillation colbert from supervised-dense +batch +128 +q\/d 39\/519/);
  assert.match(r.stderr, /phases 1-3: .*ms-marco-en-bge-gemma.*nomic-embed-unsupervised-data/);
  assert.match(r.stderr, /evaluation \(Table 2, Tables 3-5\): .*beir-scifact/);
  assert.ok(!fs.existsSync(path.join(dir, 'models')));
});

test("the paper preset's learning rates are PyLate's released scripts' (3e-4, 8e-6, 4e-6); the middle of Table 1's sweep range is an option", () => {
  const lr = (s: typeof PRESETS.paper.scale) => [s.hyper.unsupervised.lr, s.hyper.supervised.lr, s.hyper.distillation.lr];
  assert.deepEqual(lr(PRESETS.paper.scale), [3e-4, 8e-6, 4e-6]);
  assert.deepEqual(lr(presetScale(PRESETS.paper, PAPER_FACTS)), [3e-4, 8e-6, 4e-6]);
  const middle = lr(presetScale(PRESETS.paper, { ...PAPER_FACTS, learningRates: 'sweep-middle' }));
  const close = (a: number, b: number) => Math.abs(a - b) / b < 1e-12;
  for (const [i, [hi, lo]] of [[3e-3, 1e-5], [2e-5, 8e-8], [1e-3, 1e-7]].entries()) assert.ok(close(middle[i], Math.sqrt(hi * lo)), `${middle[i]}`);
  assert.deepEqual(lr(paperScale('sweep-middle')), middle);
  // Other presets keep their own; Table 1's transcription is unchanged.
  assert.equal(presetScale(PRESETS.demo, { ...PAPER_FACTS, learningRates: 'sweep-middle' }), PRESETS.demo.scale);
  assert.deepEqual(trainingSettings().map((s) => s.lrRange), [[3e-3, 1e-5], [2e-5, 8e-8], [1e-3, 1e-7]]);
  // The sweep: Table 1's 10 log-spaced values, high to low.
  const sweep = paperLearningRateSweep('supervised');
  assert.equal(sweep.length, 10);
  assert.ok(close(sweep[0], 2e-5) && close(sweep[9], 8e-8) && close(sweep[1] / sweep[0], sweep[9] / sweep[8]));
  // Every result of the paper preset records where its learning rates come from.
  assert.match(factNotes(PAPER_FACTS, 'paper').join('\n'), /learning rates unsupervised 3\.00e-4, supervised 8\.00e-6, kd 4\.00e-6 \(PyLate's released script/);
  assert.ok(!factNotes(PAPER_FACTS, 'demo').some((n) => n.startsWith('learning rates')));
  // The supervised phase keeps at most 10 hard negatives, as PyLate's released script.
  assert.equal(PRESETS.paper.scale.hyper.supervised.negatives, 10);
  const r = runCli(['reproduce', '--preset', 'paper', '--learning-rates', 'sweep-middle', '--results', tmpDir('paper-lr')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: learning rates unsupervised 1\.73e-4, supervised 1\.26e-6, kd 1\.00e-5 \(the geometric middle of Table 1's sweep range/);
});

test('bad plans fail before any training: an unknown parent, a cycle, a missing data file, a full disk', () => {
  const dir = tmpDir('bad-plans');
  const plan = buildPlan(PRESETS.smoke.scale, files(dir), { seed: 0 });
  const kd = plan.phases.find((p) => p.id === 'a/kd-colbert')!;
  assert.throws(() => orderPhases([...plan.phases.filter((p) => p !== kd), { ...kd, init: { parent: 'nope' } }]), /phase a\/kd-colbert starts from unknown phase nope/);
  const mlm = plan.phases.find((p) => p.id === 'mlm')!;
  assert.throws(() => orderPhases([{ ...mlm, init: { parent: 'unsupervised-dense' } }, ...plan.phases.filter((p) => p !== mlm)]), /phases form a cycle/);
  assert.throws(() => phaseKey({ ...kd, data: [path.join(dir, 'missing.jsonl')] }, 'x', new Map()), /missing\.jsonl: data file not found/);
  assert.throws(() => checkDiskSpace(dir, plan.phases, 1e18), /GB free, the 9 phases left to train need about/);
  checkDiskSpace(dir, plan.phases); // the smoke preset's few MB fit
});

test('reproduce({ ablations }) overrides the preset: the paper rows at smoke scale, as a dry run here (nothing trained)', async () => {
  const dir = tmpDir('ablations-override');
  const lines: string[] = [];
  const r = await reproduce({ preset: 'smoke', resultsDir: dir, dryRun: true, ablations: 'paper-rows', estimate: false, log: (l) => lines.push(l) });
  assert.equal(r.ablations, 'paper-rows');
  const plan = r.plans[0];
  const settings = plan.finals.filter((f) => f.ablation !== null && f.pipeline === 'c');
  // (c)'s 12 rows of Table 4: 6 settings (4 over the unsupervised model with prompts, 2 over the one
  // without), each distilled and supervised.
  assert.equal(new Set(settings.map((f) => f.phase)).size, 12);
  assert.equal(plan.finals.filter((f) => f.pipeline === 'a').length, 4);
  assert.equal(plan.finals.filter((f) => f.pipeline === 'b').length, 8);
  assert.ok(lines.some((l) => /every model evaluated at q\/d 23\/39/.test(l)), lines.join('\n'));
  assert.equal(plan.phases.filter((p) => p.objective === 'unsupervised' && p.setting === 'colbert').length, 2, 'with and without prompts');
  assert.ok(lines.some((l) => /c\/kd-colbert-p000-l00/.test(l)), 'the plan is printed');
  // Where a run would prepare the test set; a dry run writes nothing at all.
  assert.equal(r.testSets.length, 1);
  assert.equal(r.testSets[0].dir, path.join(dir, 'data', 'synthetic', 'test'));
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
  assert.ok(lines.some((l) => /^dry run: nothing was written\. A run would write under /.test(l)), lines.join('\n'));
  // A dry run names its models but has no folders for them.
  assert.ok(finalModels(r).every((m) => m.modelDir === null && m.seed === 0));
  assert.throws(() => modelDirOf(r, '(c) ColBERT-Zero'), /was not trained/);
  assert.throws(() => modelDirOf(r, 'nope'), /no model labelled "nope".*\(c\) ColBERT-Zero/);
  const plain = await reproduce({ preset: 'smoke', resultsDir: dir, dryRun: true, estimate: false, log: () => {} });
  assert.equal(plain.ablations, 'none');
  assert.equal(plain.plans[0].finals.length, 5);
  await assert.rejects(reproduce({ preset: 'smoke', resultsDir: dir, dryRun: true, ablations: 'some' as never, log: () => {} }), /ablations must be none, paper-rows or full/);
});

test("a dry run estimates the training time by measuring one step of each kind of phase, and writes nothing", async () => {
  const dir = tmpDir('estimate');
  const lines: string[] = [];
  const r = await reproduce({ preset: 'smoke', resultsDir: dir, dryRun: true, log: (l) => lines.push(l) });
  const kinds = lines.filter((l) => /^  measured .* s per step on (ort|tfjs)$/.test(l));
  // Six kinds in the smoke plan: MLM, dense unsupervised and supervised, ColBERT unsupervised, supervised, KD.
  assert.equal(kinds.length, 6, lines.join('\n'));
  const total = lines.find((l) => /^estimated training time on this machine: .* for 9 phases on (ort|tfjs)/.test(l));
  assert.ok(total, lines.join('\n'));
  assert.ok(lines.some((l) => /texts fill each phase's lengths and the estimate is an upper bound/.test(l)), 'no data prepared: it says the estimate is a bound');
  assert.equal(r.plans[0].phases.length, 9);
  assert.deepEqual(fs.readdirSync(dir), [], 'nothing written');
});

test("evaluation reads every model at the plan's lengths: a ColBERT folder's query and document lengths, a dense folder's max_seq_length", async () => {
  const fix = path.join(__dirname, 'fixtures', 'models');
  const o = evaluationLoadOptions({ queryLength: 20, documentLength: 30 });
  const long = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
  const colbert = (await loadEncoder(path.join(fix, 'colbert'), { ...o })) as ColbertModel;
  assert.equal(colbert.tokenize(['short'], 'query').length, 20, 'queries are expanded to the evaluation length (the folder says 12)');
  assert.equal(colbert.tokenize([long], 'document').length, 30);
  colbert.dispose();
  const dense = (await loadEncoder(path.join(fix, 'dense'), { ...o })) as DenseModel;
  assert.equal(dense.tokenize([long], 'document').length, 30);
  dense.dispose();
  assert.deepEqual(evaluationLoadOptions(undefined), {}, 'a plan without evaluation lengths reads at each model\'s own');
});
