/**
 * `colbert-zero export-pylate`: the PyLate / sentence-transformers scripts and torchrun commands written
 * from the phase specs. Always: the files of each pipeline, the settings in the scripts, valid Python and
 * shell, the refusals. Optional (like the other reference checks): with CZ_REFERENCE_VENV pointing to an
 * environment with torch and pylate (test/reference/venv.sh), every exported phase of the smoke preset
 * runs two steps under `torchrun --nproc_per_node 2` on CPU (gloo), and its final model loads here.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportPylate, parseAblation, planPylateExport, type ExportManifest } from '../lib/pipelines/export-pylate';
import { writeSyntheticSources } from '../lib/data/synthetic';
import { runCli } from './helpers/cli';
import { PROJECT_ROOT } from './helpers/shared';
import { referencePython } from '../lib/util/reference-python';
import { tmpDir } from './helpers/tmp';

const made: string[] = [];
after(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

function exportDir(): string {
  const d = tmpDir('export');
  made.push(d);
  return d;
}

function setting(script: string, key: string): unknown {
  const m = /PHASE = _json\.loads\(r'''([\s\S]*?)'''\)/.exec(script);
  assert.ok(m, 'script has a PHASE block');
  return (JSON.parse(m[1]) as Record<string, unknown>)[key];
}

const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : null;

test('each pipeline writes its phase scripts, launch.sh, README.md and manifest.json (paper scale)', async () => {
  const expected: Record<string, string[]> = {
    a: ['01-unsupervised-dense.py', '02-supervised-dense.py', '03-a_kd-colbert.py'],
    b: ['01-unsupervised-dense.py', '02-b_supervised-colbert.py', '03-b_kd-colbert.py'],
    c: ['01-c_unsupervised-colbert.py', '02-c_supervised-colbert-u1-p1l1.py', '03-c_kd-colbert-p111-l11.py'],
  };
  for (const pipeline of ['a', 'b', 'c'] as const) {
    const out = path.join(exportDir(), pipeline);
    const r = await exportPylate({ pipeline, out });
    assert.deepEqual(fs.readdirSync(out).sort(), [...expected[pipeline], 'README.md', 'launch.sh', 'manifest.json', 'requirements.txt'].sort());
    const m = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as ExportManifest;
    assert.equal(m.format, 'colbert-zero-pylate-export');
    assert.deepEqual(m.phases.map((p) => p.file), expected[pipeline]);
    assert.deepEqual(r.files.sort(), fs.readdirSync(out).sort());
    for (const p of m.phases) assert.match(p.key, /^[0-9a-f]{16}$/);
    // Parents chain in order; the first phase starts from ModernBERT-base.
    assert.equal(m.phases[0].parent, null);
    assert.equal(m.phases[0].defaultInit, 'answerdotai/ModernBERT-base');
    assert.equal(m.phases[1].parent, m.phases[0].file);
    assert.equal(m.phases[2].parent, m.phases[1].file);
    // Table 1's caption: unsupervised on 8 nodes × 4 GPUs, supervised and KD on 1 node.
    const launch = fs.readFileSync(path.join(out, 'launch.sh'), 'utf8');
    const phaseLines = launch.split('\n').filter((l) => l.startsWith('phase '));
    assert.deepEqual(phaseLines.map((l) => l.split(' ')[2]), ['8', '1', '1']);
    assert.match(launch, /torch\.distributed\.run --nnodes "\$nodes" --nproc_per_node "\$GPUS_PER_NODE"/);
    assert.match(phaseLines[1], new RegExp(`INIT_02:-\\$RUNS/${expected[pipeline][0].replace('.py', '')}/final`));
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    for (const id of ['nomic-ai/nomic-embed-unsupervised-data', 'nomic-ai/nomic-embed-supervised', 'lightonai/ms-marco-en-bge-gemma']) assert.ok(readme.includes(id), `${pipeline}: README names ${id}`);
    if (pipeline !== 'c') assert.match(readme, /nomic-ai\/modernbert-embed-base/);
  }
});

test("the scripts carry Table 1's settings: prompts, lengths, temperature, batch split, GradCache, gathering, one source per batch", () => {
  const { files } = planPylateExport({ pipeline: 'c' });
  const unsup = files.get('01-c_unsupervised-colbert.py')!;
  const sup = files.get('02-c_supervised-colbert-u1-p1l1.py')!;
  const kd = files.get('03-c_kd-colbert-p111-l11.py')!;
  assert.deepEqual(setting(unsup, 'prompts'), { query: 'search_query: ', document: 'search_document: ' });
  assert.equal(setting(unsup, 'temperature'), 0.2);
  assert.equal(setting(unsup, 'batchSize'), 16384);
  assert.equal(setting(unsup, 'nodes'), 8);
  assert.equal(setting(unsup, 'perDeviceBatch'), 512); // 16384 / (8 × 4)
  assert.equal(setting(unsup, 'miniBatch'), 256);
  assert.equal(setting(unsup, 'gatherAcrossDevices'), true);
  assert.match(unsup, /losses\.CachedContrastive\(/);
  assert.match(unsup, /MultiDatasetBatchSamplers\.PROPORTIONAL/);
  assert.match(unsup, /"split_batches": split_batches/);
  assert.equal(setting(sup, 'queryLength'), 39);
  assert.equal(setting(sup, 'documentLength'), 519);
  assert.equal(setting(sup, 'temperature'), 0.2);
  assert.equal(setting(sup, 'negatives'), 10); // PyLate's released script: min(10, the fewest in the split)
  assert.equal(setting(sup, 'perDeviceBatch'), 16);
  assert.equal(setting(sup, 'miniBatch'), 16);
  assert.match(sup, /losses\.CachedContrastive\(/);
  assert.equal(setting(unsup, 'queryLength'), 39); // Table 1: the unsupervised lengths include the prompts too
  assert.equal(setting(unsup, 'documentLength'), 187);
  assert.equal(setting(kd, 'queryLength'), 39);
  assert.equal(setting(kd, 'documentLength'), 519);
  assert.equal(setting(kd, 'accumulationSteps'), 2);
  assert.equal(setting(kd, 'candidates'), 32);
  assert.equal(setting(kd, 'temperature'), null);
  assert.equal(setting(kd, 'steps'), null); // one epoch at the paper's scale
  assert.match(kd, /losses\.Distillation\(/);
  assert.match(kd, /gradient_accumulation_steps=PHASE\["accumulationSteps"\]/);
  // PyLate's released script's temperature, and the tokenizer's +4, as options.
  const script = planPylateExport({ pipeline: 'c', facts: { unsupervisedTemperature: 'script', promptLength: 'tokenizer' } }).files;
  assert.equal(setting(script.get('01-c_unsupervised-colbert.py')!, 'temperature'), 0.02);
  assert.equal(setting(script.get('02-c_supervised-colbert-u1-p1l1.py')!, 'queryLength'), 36);
  // Dense phases: sentence-transformers, scale = 1 / temperature; GradCache where the phase has a mini-batch.
  const a = planPylateExport({ pipeline: 'a' }).files;
  assert.match(a.get('01-unsupervised-dense.py')!, /losses\.CachedMultipleNegativesRankingLoss\(model, scale=scale, mini_batch_size=/);
  assert.match(a.get('02-supervised-dense.py')!, /scale = 1\.0 \/ PHASE\["temperature"\]/);
  assert.equal(setting(a.get('02-supervised-dense.py')!, 'setting'), 'dense');
  const demo = planPylateExport({ pipeline: 'a', preset: 'demo' });
  const demoSup = demo.files.get('03-supervised-dense.py')!;
  assert.equal(setting(demoSup, 'miniBatch'), null);
  assert.match(demoSup, /losses\.MultipleNegativesRankingLoss\(model, scale=scale, gather_across_devices=/);
  assert.equal(setting(demoSup, 'perDeviceBatch'), 4); // demo: 16 over 1 node × 4 GPUs
  // An ablation: supervised without prompts or +Length, KD with both.
  const abl = planPylateExport({ pipeline: 'c', ablation: parseAblation('u1-p0l0-p1l1') });
  const names = [...abl.files.keys()];
  const supAbl = abl.files.get(names.find((n) => n.includes('supervised-colbert-u1-p0l0'))!)!;
  assert.equal(setting(supAbl, 'prompts'), null);
  assert.equal(setting(supAbl, 'queryLength'), 32);
  assert.equal(setting(supAbl, 'documentLength'), 512);
  const kdAbl = abl.files.get(names.find((n) => n.includes('kd-colbert'))!)!;
  assert.equal(setting(kdAbl, 'queryLength'), 39);
  assert.equal(abl.manifest.phases.length, 3);
  // Table 4's rows of (a) and (b): (a) varies its KD phase, (b) its supervised and KD phases; the chain up
  // to them is the main setting's, and the script format is the same.
  const a00 = planPylateExport({ pipeline: 'a', ablation: parseAblation('u1-p1l1-p0l0') });
  assert.deepEqual(a00.manifest.phases.map((p) => p.id), ['unsupervised-dense', 'supervised-dense', 'a/kd-colbert-p0l0']);
  const kdA = a00.files.get(a00.manifest.phases[2].file)!;
  assert.equal(setting(kdA, 'prompts'), null);
  assert.equal(setting(kdA, 'queryLength'), 32);
  assert.equal(setting(a00.files.get(a00.manifest.phases[1].file)!, 'queryLength'), 39, 'the dense supervised model keeps its prompts and lengths');
  assert.equal(a00.manifest.ablation.kdPrompts, false);
  const b10 = planPylateExport({ pipeline: 'b', ablation: parseAblation('u1-p1l0-p1l0') });
  assert.deepEqual(b10.manifest.phases.map((p) => p.id), ['unsupervised-dense', 'b/supervised-colbert-p1l0', 'b/kd-colbert-p111-l00']);
  for (const ph of b10.manifest.phases.slice(1)) {
    assert.deepEqual(setting(b10.files.get(ph.file)!, 'prompts'), { query: 'search_query: ', document: 'search_document: ' });
    assert.equal(setting(b10.files.get(ph.file)!, 'queryLength'), 32);
  }
  assert.match(b10.files.get('README.md')!, /ablation `u1-p1l0-p1l0`/);
  // The main setting's switches export the main scripts.
  assert.deepEqual(planPylateExport({ pipeline: 'b', ablation: parseAblation('u1-p1l1-p1l1') }).manifest.phases.map((p) => p.id), ['unsupervised-dense', 'b/supervised-colbert', 'b/kd-colbert']);
  assert.throws(() => planPylateExport({ pipeline: 'a', ablation: parseAblation('u1-p0l0-p0l0') }), /vary the KD switches only/);
  // The smoke preset runs its step counts, from an MLM phase.
  const smoke = planPylateExport({ pipeline: 'c', preset: 'smoke', devicesPerNode: 2 });
  assert.equal(smoke.manifest.phases[0].objective, 'mlm');
  assert.equal(setting(smoke.files.get('02-c_unsupervised-colbert.py')!, 'steps'), 20);
  // Nothing of this machine in the files.
  for (const text of [...files.values(), ...smoke.files.values()]) {
    assert.ok(!text.includes(PROJECT_ROOT) && !text.includes(os.homedir()) && !text.includes(os.tmpdir()), 'no machine paths');
  }
});

test("learning rates of PyLate's released scripts (Table 1's sweep an option), NanoBEIR evaluation as they do, pylate and sentence-transformers pinned", () => {
  const { files, manifest } = planPylateExport({ pipeline: 'c' });
  const [unsup, sup, kd] = manifest.phases.map((p) => files.get(p.file)!);
  assert.deepEqual([unsup, sup, kd].map((s) => setting(s, 'lr')), [3e-4, 8e-6, 4e-6]);
  for (const s of [unsup, sup, kd]) assert.equal(setting(s, 'lrSource'), "PyLate's released script");
  assert.deepEqual(setting(sup, 'lrSweep'), [2e-5, 1.08e-5, 5.86e-6, 3.17e-6, 1.72e-6, 9.31e-7, 5.04e-7, 2.73e-7, 1.48e-7, 8e-8]);
  assert.match(sup, /parser\.add_argument\("--lr", type=float, default=PHASE\["lr"\]/);
  const middle = planPylateExport({ pipeline: 'c', facts: { unsupervisedTemperature: 'paper', promptLength: 'paper', learningRates: 'sweep-middle' } });
  const lrs = middle.manifest.phases.map((p) => p.settings.lr as number);
  assert.deepEqual(lrs.map((x) => x.toExponential(2)), ['1.73e-4', '1.26e-6', '1.00e-5']);
  assert.equal(setting(middle.files.get(middle.manifest.phases[0].file)!, 'lrSource'), "the geometric middle of Table 1's sweep range");
  // NanoBEIR during training, as the released scripts: PyLate's evaluator (sentence-transformers' for a dense phase), their eval_steps.
  assert.deepEqual([unsup, sup, kd].map((s) => setting(s, 'evalSteps')), [500, 1500, 187]);
  for (const s of [unsup, sup, kd]) {
    assert.match(s, /from pylate\.evaluation import NanoBEIREvaluator/);
    assert.match(s, /evaluator=nanobeir_evaluator\(args\),/);
    assert.match(s, /"eval_strategy": "steps", "eval_steps": args\.eval_steps/);
  }
  const dense = planPylateExport({ pipeline: 'a' }).files.get('02-supervised-dense.py')!;
  assert.match(dense, /evaluator=nanobeir_evaluator\(args, dense=True\),/);
  assert.match(dense, /from sentence_transformers\.evaluation import NanoBEIREvaluator/);
  // Below the paper's scale evaluation is off unless asked for (it downloads NanoBEIR).
  assert.equal(setting(planPylateExport({ pipeline: 'c', preset: 'smoke', devicesPerNode: 2 }).files.get('02-c_unsupervised-colbert.py')!, 'evalSteps'), null);
  const req = files.get('requirements.txt')!;
  assert.match(req, /^pylate==1\.6\.0$/m);
  assert.match(req, /^sentence-transformers==5\.3\.0$/m);
  assert.match(files.get('README.md')!, /pip install -r requirements\.txt/);
  assert.match(files.get('README.md')!, /3e-4 unsupervised, 8e-6 supervised, 4e-6 distillation/);
  const r = runCli(['export-pylate', '--pipeline', 'c', '--learning-rates', 'sweep-middle', '--out', path.join(exportDir(), 'mid')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(runCli(['export-pylate', '--pipeline', 'c', '--learning-rates', 'best', '--out', path.join(exportDir(), 'bad')]).code, 2);
});

test("the scripts' NanoBEIR evaluator gets the phase's prompts when it has them, none without, and is off with --eval-steps 0", { skip: python ? false : 'python3 not found' }, () => {
  const dir = exportDir();
  const main = planPylateExport({ pipeline: 'c' });
  const abl = planPylateExport({ pipeline: 'c', ablation: parseAblation('u1-p0l0-p1l1') });
  const scripts = {
    colbert: main.files.get(main.manifest.phases[1].file)!,
    noPrompts: abl.files.get(abl.manifest.phases.find((p) => p.objective === 'supervised')!.file)!,
    dense: planPylateExport({ pipeline: 'a' }).files.get('02-supervised-dense.py')!,
  };
  for (const [name, text] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, `${name}.py`), text);
  // Stand-ins for torch, pylate and sentence-transformers: the evaluator records how it was made.
  const harness = [
    'import json, sys, types',
    'made = []',
    'class NanoBEIREvaluator:',
    '    def __init__(self, **kwargs):',
    '        made.append([self.origin, kwargs])',
    'for name in ["torch", "pylate", "pylate.evaluation", "sentence_transformers", "sentence_transformers.evaluation"]:',
    '    sys.modules[name] = types.ModuleType(name)',
    'sys.modules["pylate.evaluation"].NanoBEIREvaluator = type("P", (NanoBEIREvaluator,), {"origin": "pylate"})',
    'sys.modules["sentence_transformers.evaluation"].NanoBEIREvaluator = type("S", (NanoBEIREvaluator,), {"origin": "sentence_transformers"})',
    'out = {}',
    'for path in sys.argv[1:]:',
    '    g = {"__name__": "harness"}',
    '    exec(compile(open(path).read(), path, "exec"), g)',
    '    dense = g["PHASE"]["setting"] == "dense"',
    '    made.clear()',
    '    none = g["nanobeir_evaluator"](types.SimpleNamespace(eval_steps=0), dense=dense)',
    '    g["nanobeir_evaluator"](types.SimpleNamespace(eval_steps=g["PHASE"]["evalSteps"]), dense=dense)',
    '    out[path.rsplit("/", 1)[-1]] = {"off": none, "made": made[:], "args": g["eval_args"](types.SimpleNamespace(eval_steps=0))}',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(python!, ['-c', harness, ...Object.keys(scripts).map((n) => path.join(dir, `${n}.py`))], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as Record<string, { off: null; made: Array<[string, Record<string, string>]>; args: Record<string, string> }>;
  const prompts = { query_prompts: 'search_query: ', corpus_prompts: 'search_document: ' };
  assert.deepEqual(got['colbert.py'], { off: null, made: [['pylate', prompts]], args: { eval_strategy: 'no' } });
  assert.deepEqual(got['noPrompts.py'].made, [['pylate', {}]]);
  assert.deepEqual(got['dense.py'].made, [['sentence_transformers', prompts]]);
});

test("the ColBERT scripts pin the attention of the paper's expansion tokens (flash_attention_2: zeroed) or eager (scored), record it, and the README lists flash-attn", () => {
  const { files, manifest } = planPylateExport({ pipeline: 'b' });
  for (const p of manifest.phases) {
    const script = files.get(p.file)!;
    if (p.setting === 'colbert') {
      assert.equal(setting(script, 'expansionTokens'), 'zeroed', `${p.file}: the paper's setting`);
      assert.equal(setting(script, 'attnImplementation'), 'flash_attention_2');
      assert.match(script, /model = models\.ColBERT\([\s\S]*?model_kwargs=attention_kwargs\(\),\n    \)/, `${p.file}: the model is built with the pinned attention`);
      assert.match(script, /record_expansion\(model\)/);
    } else {
      assert.equal(setting(script, 'attnImplementation'), undefined, `${p.file}: dense, no setting`);
    }
  }
  const readme = files.get('README.md')!;
  assert.match(readme, /flash-attn/);
  assert.match(readme, /attn_implementation="flash_attention_2"/);
  const eager = planPylateExport({ pipeline: 'b', expansionTokens: 'scored' });
  const kd = eager.manifest.phases.find((p) => p.objective === 'distillation')!;
  assert.equal(setting(eager.files.get(kd.file)!, 'attnImplementation'), 'eager');
  assert.equal(setting(eager.files.get(kd.file)!, 'expansionTokens'), 'scored');
  assert.notEqual(kd.key, manifest.phases.find((p) => p.objective === 'distillation')!.key, 'a different phase key');
  assert.match(eager.files.get('README.md')!, /attn_implementation="eager"`; flash-attn is not used/);
  assert.doesNotMatch(eager.files.get('README.md')!, /pip install flash-attn/);
});

test('the exported scripts are valid Python and launch.sh valid bash', { skip: python ? false : 'python3 not found' }, async () => {
  for (const pipeline of ['a', 'b', 'c'] as const) {
    for (const preset of ['paper', 'smoke']) {
      const out = path.join(exportDir(), `${pipeline}-${preset}`);
      const { files } = await exportPylate({ pipeline, preset, devicesPerNode: 2, out });
      const py = files.filter((f) => f.endsWith('.py')).map((f) => path.join(out, f));
      const r = spawnSync(python!, ['-c', 'import ast, sys\nfor f in sys.argv[1:]: ast.parse(open(f).read(), f)\n', ...py], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const c = spawnSync(python!, ['-m', 'py_compile', ...py], { encoding: 'utf8', env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(out, '.pycache') } });
      assert.equal(c.status, 0, c.stderr);
      const b = spawnSync('bash', ['-n', path.join(out, 'launch.sh')], { encoding: 'utf8' });
      assert.equal(b.status, 0, b.stderr);
    }
  }
});

test('launch.sh names what is missing: the data folder, the first phase\'s starting checkpoint', async () => {
  const out = path.join(exportDir(), 'smoke');
  await exportPylate({ pipeline: 'c', preset: 'smoke', devicesPerNode: 2, out });
  let r = spawnSync('bash', [path.join(out, 'launch.sh')], { encoding: 'utf8', env: { ...process.env, DATA: '' } });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /set DATA/);
  r = spawnSync('bash', [path.join(out, 'launch.sh')], { encoding: 'utf8', env: { ...process.env, DATA: out, RUNS: path.join(out, 'runs'), INIT_01: '' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /01-mlm: set INIT_01 to the starting checkpoint/);
});

test('launch.sh: a one-node phase lets torchrun take a free port (--standalone) unless MASTER_PORT is set; a multi-node phase names its master', async () => {
  const dir = exportDir();
  // A stand-in for Python that prints the torchrun arguments launch.sh gives it.
  const stub = path.join(dir, 'python');
  fs.writeFileSync(stub, '#!/usr/bin/env bash\necho "torchrun-args: $*"\n', { mode: 0o755 });
  const data = path.join(dir, 'data');
  for (const f of ['mlm', 'unsupervised', 'supervised', 'distillation']) {
    fs.mkdirSync(path.join(data, f), { recursive: true });
    fs.writeFileSync(path.join(data, f, 'a.jsonl'), '{}\n');
  }
  const { MASTER_PORT: _ignored, ...base } = process.env;
  const launch = async (preset: string, extra: Record<string, string> = {}) => {
    const out = path.join(dir, `${preset}-${Object.keys(extra).length}`);
    await exportPylate({ pipeline: 'c', preset, devicesPerNode: 2, out });
    const r = spawnSync('bash', [path.join(out, 'launch.sh')], { encoding: 'utf8', env: { ...base, PYTHON: stub, DATA: data, RUNS: path.join(out, 'runs'), INIT_01: path.join(dir, 'init'), ...extra } });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((l) => l.startsWith('torchrun-args: '));
  };
  const smoke = await launch('smoke');
  assert.equal(smoke.length, 4);
  for (const l of smoke) assert.ok(l.includes('--nnodes 1 --nproc_per_node 2 --standalone ') && !l.includes('--master_port'), l);
  for (const l of await launch('smoke', { MASTER_PORT: '29411' })) assert.ok(l.includes('--master_addr 127.0.0.1 --master_port 29411 ') && !l.includes('--standalone'), l);
  const paper = await launch('paper');
  assert.match(paper[0], /--nnodes 8 --nproc_per_node 2 --node_rank 0 --master_addr 127\.0\.0\.1 --master_port 29500 /);
  for (const l of paper.slice(1)) assert.ok(l.includes('--nnodes 1 --nproc_per_node 2 --standalone '), l);
});

test("launch.sh of (a) and (b) at the paper's scale starts from Nomic's released dense checkpoint in the data cache, as the paper; TRAIN_DENSE=1 trains the dense phases", async () => {
  const dir = exportDir();
  const stub = path.join(dir, 'python');
  fs.writeFileSync(stub, '#!/usr/bin/env bash\necho "torchrun-args: $*"\n', { mode: 0o755 });
  const data = path.join(dir, 'data');
  for (const f of ['unsupervised', 'supervised', 'distillation']) {
    fs.mkdirSync(path.join(data, f), { recursive: true });
    fs.writeFileSync(path.join(data, f, 'a.jsonl'), '{}\n');
  }
  const cache = path.join(dir, 'cache');
  const { MASTER_PORT: _ignored, CZ_DATA_DIR: _cache, INIT_02: _i2, INIT_03: _i3, TRAIN_DENSE: _t, ...base } = process.env;
  const launch = (out: string, extra: Record<string, string> = {}) => {
    const r = spawnSync('bash', [path.join(out, 'launch.sh')], { encoding: 'utf8', env: { ...base, PYTHON: stub, DATA: data, RUNS: path.join(out, 'runs'), CZ_DATA_DIR: cache, ...extra } });
    return { status: r.status, stderr: r.stderr, runs: r.stdout.split('\n').filter((l) => l.startsWith('torchrun-args: ')) };
  };
  const cases = [
    { pipeline: 'a' as const, release: 'modernbert-embed-base', hub: 'nomic-ai/modernbert-embed-base', dense: ['01-unsupervised-dense', '02-supervised-dense'], next: '03-a_kd-colbert' },
    { pipeline: 'b' as const, release: 'modernbert-embed-base-unsupervised', hub: 'nomic-ai/modernbert-embed-base-unsupervised', dense: ['01-unsupervised-dense'], next: '02-b_supervised-colbert' },
  ];
  for (const c of cases) {
    const out = path.join(dir, c.pipeline);
    await exportPylate({ pipeline: c.pipeline, devicesPerNode: 2, out });
    // No copy yet: the dense phases are skipped and the next one names how to get the release.
    let r = launch(out);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.runs.length, 0);
    for (const d of c.dense) assert.match(r.stderr, new RegExp(`${d}: not trained: the paper started from Nomic's released dense checkpoint \\(TRAIN_DENSE=1 trains it\\)`));
    assert.match(r.stderr, new RegExp(`${c.next}: starts from Nomic's released ${c.release} as the paper did, but .* holds no copy: run colbert-zero data fetch ${c.release}`));
    // With the copy `data fetch` makes (the manifest's id under CZ_DATA_DIR): only the ColBERT phases run, from it.
    fs.mkdirSync(path.join(cache, c.release), { recursive: true });
    fs.writeFileSync(path.join(cache, c.release, 'config.json'), '{}\n');
    r = launch(out);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.runs.length, 3 - c.dense.length);
    assert.ok(r.runs[0].includes(`${c.next}.py `) && r.runs[0].includes(`--init ${path.join(cache, c.release)} `), r.runs[0]);
    // TRAIN_DENSE=1: every phase, the next one from the dense phase's model; INIT_NN still names another start.
    r = launch(out, { TRAIN_DENSE: '1' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.runs.length, 3);
    assert.ok(r.runs[c.dense.length].includes(`--init ${path.join(out, 'runs', c.dense[c.dense.length - 1])}/final `), r.runs[c.dense.length]);
    const nn = c.next.slice(0, 2);
    r = launch(out, { [`INIT_${nn}`]: path.join(dir, 'mine') });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.runs[0].includes(`--init ${path.join(dir, 'mine')} `), r.runs[0]);
    const readme = fs.readFileSync(path.join(out, 'README.md'), 'utf8');
    assert.match(readme, new RegExp(`colbert-zero data fetch ${c.release}\n`));
    assert.match(readme, /`TRAIN_DENSE=1 \.\/launch\.sh` trains the dense phases here instead/);
    assert.match(fs.readFileSync(path.join(out, 'launch.sh'), 'utf8'), new RegExp(c.hub));
  }
  // The releases are manifests `data fetch` knows.
  for (const c of cases) assert.ok(fs.existsSync(path.join(PROJECT_ROOT, 'data-manifests', `${c.release}.json`)));
});

test('refuses a non-empty folder and a previous export without --overwrite; --overwrite keeps the user\'s files', () => {
  const dir = exportDir();
  const user = path.join(dir, 'mine');
  fs.mkdirSync(user);
  fs.writeFileSync(path.join(user, 'notes.txt'), 'mine\n');
  let r = runCli(['export-pylate', '--pipeline', 'c', '--out', user]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exists and is not a previous export-pylate output/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.deepEqual(fs.readdirSync(user), ['notes.txt']);

  const out = path.join(dir, 'export');
  r = runCli(['export-pylate', '--pipeline', 'c', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  r = runCli(['export-pylate', '--pipeline', 'c', '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /holds a previous export-pylate output; add --overwrite/);
  // A user's file beside the export survives an overwrite; files of the old export that the new one lacks go.
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine\n');
  fs.mkdirSync(path.join(out, 'runs'));
  r = runCli(['export-pylate', '--pipeline', 'b', '--out', out, '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
  const names = fs.readdirSync(out).sort();
  assert.ok(names.includes('notes.txt') && names.includes('runs') && names.includes('02-b_supervised-colbert.py'));
  assert.ok(!names.some((n) => n.startsWith('01-c_')), 'the old export\'s scripts are gone');
  // A user's file where the new export would write is never overwritten.
  fs.writeFileSync(path.join(out, '01-c_unsupervised-colbert.py'), '# mine\n');
  r = runCli(['export-pylate', '--pipeline', 'c', '--out', out, '--overwrite']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /exists and was not written by export-pylate; not overwritten/);
  assert.equal(fs.readFileSync(path.join(out, '01-c_unsupervised-colbert.py'), 'utf8'), '# mine\n');
});

test('usage errors exit 2; a batch that does not split over the devices exits 1 with one line', () => {
  const out = path.join(exportDir(), 'x');
  for (const args of [['--pipeline', 'z'], ['--pipeline', 'a', '--ablation', 'u1-p0l1-p1l1'], ['--pipeline', 'b', '--ablation', 'u0-p1l1-p1l1'], ['--pipeline', 'c', '--ablation', 'prompts-off'], ['--pipeline', 'c', '--preset', 'huge']]) {
    const r = runCli(['export-pylate', ...args, '--out', out]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  const r = runCli(['export-pylate', '--pipeline', 'c', '--devices-per-node', '3', '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /batch size 16384 does not split over 8 node\(s\) × 3 GPU\(s\)/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.ok(!fs.existsSync(out));
});

// ---- optional: the scripts for real, on CPU, with the reference environment ----

// Opt-in (a long run): CZ_REFERENCE_VENV only, no .venv-reference fallback.
const refPython = referencePython({ modules: ['torch', 'pylate', 'sentence_transformers', 'datasets'] });
if (!refPython) process.stdout.write('# NOTE: CZ_REFERENCE_VENV does not point to an environment with torch and pylate (test/reference/venv.sh); the torchrun check of the exported scripts is skipped\n');

test('every exported phase of pipelines c, a and b runs two steps under torchrun --nproc_per_node 2 (CPU, gloo) and its model loads here', { skip: refPython ? false : 'CZ_REFERENCE_VENV not set', timeout: 40 * 60 * 1000 }, async () => {
  const { loadEncoder, ColbertModel, DenseModel, initBackend } = await import('../lib/index');
  await initBackend();
  const dir = exportDir();
  const data = path.join(dir, 'data');
  writeSyntheticSources(path.join(data, 'mlm'), 'mlm', 64, { seed: 11 });
  writeSyntheticSources(path.join(data, 'unsupervised'), 'unsupervised', 256, { seed: 12 });
  writeSyntheticSources(path.join(data, 'supervised'), 'supervised', 128, { seed: 13, negatives: 3 });
  writeSyntheticSources(path.join(data, 'distillation'), 'distillation', 128, { seed: 14, candidates: 8 });
  const init = path.join(dir, 'init');
  const made = runCli(['init-model', '--config', 'tiny', '--head', 'mlm', '--out', init]);
  assert.equal(made.code, 0, made.stderr);

  let mlmFinal = '';
  for (const pipeline of ['c', 'a', 'b'] as const) {
    const out = path.join(dir, `export-${pipeline}`);
    // Eager attention: Flash Attention (the paper's "zeroed" expansion tokens) needs flash-attn and a CUDA GPU.
    const { manifest } = await exportPylate({ pipeline, preset: 'smoke', devicesPerNode: 2, out, expansionTokens: 'scored' });
    const runs = path.join(dir, `runs-${pipeline}`);
    // Pipeline c trains the MLM phase; a and b start their next phase from its model (launch.sh's INIT_02).
    const phases = mlmFinal ? manifest.phases.slice(1) : manifest.phases;
    const env: Record<string, string> = { PYTHON: refPython!, DATA: data, RUNS: runs, GPUS_PER_NODE: '2', EXTRA_ARGS: '--max-steps 2', OMP_NUM_THREADS: '1', TOKENIZERS_PARALLELISM: 'false', HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', ...(mlmFinal ? { INIT_02: mlmFinal } : { INIT_01: init }) };
    // No MASTER_PORT: each one-node phase runs under torchrun --standalone, which binds a free port itself.
    const { MASTER_PORT: _unset, ...inherited } = process.env;
    const r = spawnSync('bash', [path.join(out, 'launch.sh'), ...phases.map((p) => p.file.slice(0, 2))], { cwd: dir, env: { ...inherited, ...env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    assert.equal(r.status, 0, `pipeline ${pipeline}: launch.sh failed:\n${(r.stderr ?? '').slice(-4000)}`);
    for (const p of phases) {
      assert.match(r.stderr, new RegExp(`${p.id.replace(/[/]/g, '\\/')}: 2 process\\(es\\) \\(distributed\\)`), `${p.id} ran in a 2-process group`);
      const final = path.join(runs, p.file.replace(/\.py$/, ''), 'final');
      assert.ok(fs.existsSync(final), `${final} exists`);
      const model = await loadEncoder(final, { fallback: 'dense' });
      try {
        const kind = p.objective === 'mlm' || p.setting === 'dense' ? DenseModel : ColbertModel;
        assert.ok(model instanceof kind, `${p.id}: loads as ${kind.name}`);
        const e = await model.encode(['song street film'], 'query');
        if (model instanceof ColbertModel) assert.equal(e.embeddings.shape[2], 32);
        if (p.objective !== 'mlm') {
          const st = JSON.parse(fs.readFileSync(path.join(final, 'config_sentence_transformers.json'), 'utf8')) as { prompts: Record<string, string> };
          assert.deepEqual(st.prompts, p.settings.prompts ?? { query: '', document: '' }, `${p.id}: records its own prompts`);
          if (model instanceof ColbertModel) assert.equal(model.tokenizer.config.expansion_tokens, 'scored', `${p.id}: records its expansion tokens`);
        }
      } finally {
        (model as { dispose?: () => void }).dispose?.();
      }
      if (p.objective === 'mlm') mlmFinal = final;
    }
  }
});

test("the scripts' data rules follow PyLate's (real datasets): min(fewest, negatives) per supervised file, the first candidates of longer distillation lines, a shorter one named by file:line; NanoBEIREvaluator takes the prompts", { skip: refPython ? false : 'CZ_REFERENCE_VENV not set', timeout: 5 * 60 * 1000 }, () => {
  const dir = exportDir();
  const { files, manifest } = planPylateExport({ pipeline: 'c' });
  const script = (objective: string) => {
    const p = manifest.phases.find((x) => x.objective === objective)!;
    const file = path.join(dir, p.file);
    fs.writeFileSync(file, files.get(p.file)!);
    return file;
  };
  const negs = (n: number) => Array.from({ length: n }, (_, i) => `n${i}`);
  const jsonl = (name: string, rows: object[]) => {
    const f = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return f;
  };
  const mixed = jsonl('mixed', [12, 3, 8].map((n, i) => ({ query: `q${i}`, positive: `p${i}`, negatives: negs(n) })));
  const many = jsonl('many', [12, 11].map((n, i) => ({ query: `q${i}`, positive: `p${i}`, negatives: negs(n) })));
  const cand = (n: number, i: number) => ({ query: `q${i}`, documents: negs(n), scores: Array.from({ length: n }, (_, j) => n - j) });
  const long = jsonl('long', [40, 32].map(cand));
  const short = jsonl('short', [32, 32, 31].map(cand));
  const harness = [
    'import inspect, io, json, sys, contextlib',
    'def load(path):',
    '    g = {"__name__": "harness"}',
    '    exec(compile(open(path).read(), path, "exec"), g)',
    '    return g',
    'out = {}',
    'sup = load(sys.argv[1])',
    'sources, q, d = sup["contrastive_sources"]([sys.argv[3], sys.argv[4]])',
    'out["columns"] = {k: v.column_names for k, v in sources.items()}',
    'out["mixed0"] = sources["mixed"][0]',
    'out["documentColumns"] = d',
    'kd = load(sys.argv[2])',
    'ds = kd["distillation_sources"]([sys.argv[5]])["long"]',
    'out["long"] = [len(r["documents"]) for r in ds], ds[0]["scores"][:2], ds[0]["documents"][-1]',
    'err = io.StringIO()',
    'try:',
    '    with contextlib.redirect_stderr(err):',
    '        kd["distillation_sources"]([sys.argv[6]])',
    '    out["short"] = "accepted"',
    'except SystemExit as e:',
    '    out["short"] = [e.code, err.getvalue()]',
    'from pylate.evaluation import NanoBEIREvaluator',
    'out["evaluator"] = sorted(inspect.signature(NanoBEIREvaluator).parameters)',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(refPython!, ['-c', harness, script('supervised'), script('distillation'), mixed, many, long, short], {
    encoding: 'utf8',
    env: { ...process.env, HF_DATASETS_CACHE: path.join(dir, 'hf'), HF_DATASETS_OFFLINE: '1', HF_HUB_OFFLINE: '1', TOKENIZERS_PARALLELISM: 'false' },
  });
  assert.equal(r.status, 0, r.stderr.slice(-3000));
  const got = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const cols = (n: number) => ['query', 'positive', ...Array.from({ length: n }, (_, i) => `negative_${i}`)];
  assert.deepEqual(got.columns, { mixed: cols(3), many: cols(10) });
  assert.deepEqual(got.mixed0, { query: 'q0', positive: 'p0', negative_0: 'n0', negative_1: 'n1', negative_2: 'n2' });
  assert.deepEqual(got.documentColumns, ['positive', ...cols(10).slice(2)]);
  assert.match(r.stderr, /mixed\.jsonl: a line has only 3 negatives: this source uses 3 per line \(at most 10\)/);
  assert.deepEqual(got.long, [[32, 32], [40, 39], 'n31']);
  assert.equal(got.short[0], 1);
  assert.match(got.short[1], new RegExp(`${short.replace(/[.]/g, '\\.')}:3: 1 line\\(s\\) have fewer than 32 documents or scores`));
  for (const k of ['query_prompts', 'corpus_prompts', 'dataset_names', 'batch_size']) assert.ok(got.evaluator.includes(k), k);
});
