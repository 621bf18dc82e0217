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
    assert.deepEqual(fs.readdirSync(out).sort(), [...expected[pipeline], 'README.md', 'launch.sh', 'manifest.json'].sort());
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
  assert.equal(setting(sup, 'negatives'), 7);
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
  // The smoke preset runs its step counts, from an MLM phase.
  const smoke = planPylateExport({ pipeline: 'c', preset: 'smoke', devicesPerNode: 2 });
  assert.equal(smoke.manifest.phases[0].objective, 'mlm');
  assert.equal(setting(smoke.files.get('02-c_unsupervised-colbert.py')!, 'steps'), 20);
  // Nothing of this machine in the files.
  for (const text of [...files.values(), ...smoke.files.values()]) {
    assert.ok(!text.includes(PROJECT_ROOT) && !text.includes(os.homedir()) && !text.includes(os.tmpdir()), 'no machine paths');
  }
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
  for (const args of [['--pipeline', 'z'], ['--pipeline', 'a', '--ablation', 'u1-p1l1-p1l1'], ['--pipeline', 'c', '--ablation', 'prompts-off'], ['--pipeline', 'c', '--preset', 'huge']]) {
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
