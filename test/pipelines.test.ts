/** The paper's pipelines as phase graphs: shared phases once, keys that follow config, parent and data; Table 1 at paper scale. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buildPlan, ablationGrid, MAIN_SETTING } from '../lib/pipelines/plan';
import { orderPhases, phaseKey, phaseLengths, phaseTrainConfig } from '../lib/pipelines/phase';
import { PRESETS, withFacts, PAPER_FACTS } from '../lib/pipelines/presets';
import { checkDiskSpace } from '../lib/pipelines/plan-training';
import { reproduce } from '../lib/pipelines/reproduce';
import { finalModels, modelDirOf } from '../lib/pipelines/phase-models';
import { runCli } from './helpers/cli';
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

test('the ablation grid: the paper rows are 8 settings (prompts × length, over each unsupervised model), the full grid 32', () => {
  assert.equal(ablationGrid(false).length, 8);
  assert.equal(ablationGrid(true).length, 32);
  assert.ok(ablationGrid(false).some((a) => JSON.stringify(a) === JSON.stringify(MAIN_SETTING)));
  const plan = buildPlan(PRESETS.smoke.scale, files(tmpDir('grid')), { seed: 0, pipelines: ['c'], ablations: ablationGrid(false) });
  assert.equal(plan.finals.filter((f) => f.pipeline === 'c').length, 8 + 1); // 8 settings + the main setting's supervised model
  assert.equal(plan.phases.filter((p) => p.objective === 'unsupervised').length, 2);
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
  // The 8 rows of Tables 3–5 (the main one included) plus the main setting's supervised model.
  assert.equal(new Set(settings.map((f) => f.phase)).size, 9);
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
