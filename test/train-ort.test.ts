/**
 * Training on ONNX Runtime (lib/train/ort): its gradients against PyTorch autograd (a fixture) and against
 * the tfjs one-graph reference for every example config (GradCache, 2 devices), its losses beside tfjs's
 * over 15 steps, a kill -9 and --resume giving the same final weights, 1 vs 2 devices.
 */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { initBackend } from '../lib/backend';
import { ColbertModel } from '../lib/models/colbert';
import { readSafetensors } from '../lib/models/safetensors';
import { OrtTrainer } from '../lib/train/ort/trainer';
import { ortSpecOf, type OrtEngine } from '../lib/train/ort/engine';
import type { OrtModelSpec } from '../lib/train/ort/graphs';
import { EXAMPLES, exampleConfig } from '../lib/train/examples';
import { parseTrainConfig, resolvePaths, type TrainConfig } from '../lib/train/config';
import { gradcheck } from '../lib/train/gradcheck';
import { runReplica, type LogRecord } from '../lib/train/run';
import { train } from '../lib/train/launch';
import type { TokenizedBatch } from '../lib/tokenize/types';
import { relativeError } from '../lib/util/numeric';
import { tmpDir } from './train-helpers/fixtures';
import { assertElementwise } from './helpers/graph-check';

const ROOT = path.join(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'colbert-zero.cjs');

before(async () => {
  await initBackend();
});

// ---- against PyTorch autograd ----------------------------------------------------------------------

const FIX = readSafetensors(path.join(__dirname, 'fixtures', 'train', 'step-gradients.safetensors'));
const fx = (k: string) => {
  const t = FIX.tensors.get(k);
  assert.ok(t, `fixture lacks ${k}`);
  return t;
};
/** A float tensor's values. */
const fxf = (k: string) => fx(k).data as Float32Array;

function batch(prefix: string): TokenizedBatch {
  const ids = fx(`${prefix}.input_ids`);
  const [n, length] = ids.shape;
  return { n, length, inputIds: ids.data as Int32Array, attentionMask: fx(`${prefix}.attention_mask`).data as Int32Array, scoringMask: fx(`${prefix}.scoring_mask`).data as Int32Array };
}

/** The model's variables flattened, and each parameter's fixture gradient in this project's layout. */
async function fixtureModel(): Promise<{ spec: OrtModelSpec; params: Float32Array; model: ColbertModel }> {
  const model = await ColbertModel.fromPretrained(path.join(__dirname, 'fixtures', 'models', 'colbert'));
  const spec = ortSpecOf(model);
  assert.ok(typeof spec !== 'string', String(spec));
  const vars = model.trainableVariables;
  const params = new Float32Array(vars.reduce((a, v) => a + v.size, 0));
  let o = 0;
  for (const v of vars) params.set(v.dataSync() as Float32Array, o), (o += v.size);
  return { spec, params, model };
}

/** The fixture's gradient of parameter `name` (transformers layout) in this project's layout ([in, out] for Linear weights). */
function expectedGrad(step: string, name: string, shape: number[]): Float32Array {
  const t = fx(`${step}.grad.${name}`);
  const data = t.data as Float32Array;
  // Every 2-D weight but the token embeddings is a Linear weight (and the projection is 1_Dense's linear.weight).
  if (t.shape.length === 2 && name !== 'embeddings.tok_embeddings.weight') {
    const [r, c] = t.shape;
    assert.deepEqual([c, r], shape, `${name}: fixture shape [${t.shape}] vs [${shape}]`);
    const out = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = data[i * c + j];
    return out;
  }
  return data;
}

function compareGrads(step: string, spec: OrtModelSpec, grads: Float32Array): void {
  const all: number[] = [];
  let o = 0;
  for (const p of spec.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const want = expectedGrad(step, p.name, p.shape);
    const got = grads.subarray(o, o + size);
    const scale = Math.max(...Array.from(want, Math.abs), 1e-12);
    // Element by element: within 1e-4 of the value or of the parameter's largest gradient (float32 on both
    // sides through three layers and KD's min–max division: the worst element measured 2.6e-5 of the largest).
    assertElementwise(got, want, 1e-4, 1e-4 * scale, `${step}: gradient of ${p.name}`);
    all.push(relativeError(got, want));
    o += size;
  }
  assert.ok(Math.max(...all) <= 1e-4, `${step}: worst parameter's normwise error ${Math.max(...all)}`);
}

test('ORT training graphs = PyTorch autograd: one InfoNCE/MaxSim step (learnable τ) and one KD step, in one graph and via GradCache', async () => {
  const { spec, params, model } = await fixtureModel();
  const tr = new OrtTrainer(spec, params, { threads: 2 });
  try {
    // PyLate's token ids and masks (its tokenization is checked against this library's in tokenize-pylate.test.ts).
    const q = batch('infonce.query');
    const d = batch('infonce.document');

    const logTau = Math.fround(Math.log(0.05));
    const values = { kind: 'infonce' as const, temperature: 0.05, logTemperature: logTau, queryOffset: 0, docsPerQuery: 2, normalizer: 3 };
    const obj = { kind: 'infonce' as const, learnableTemperature: true };
    const oneGraph = new Float32Array(tr.modelSize);
    const r = await tr.step(obj, { tokens: q, seed: 0 }, { tokens: d, seed: 0 }, values, oneGraph);
    assert.ok(Math.abs(r.loss - fxf('infonce.loss')[0]) <= 1e-4 * Math.abs(fxf('infonce.loss')[0]), `loss ${r.loss} vs ${fxf('infonce.loss')[0]}`);
    assertElementwise([r.logTemperatureGrad!], fxf('infonce.grad.log_temperature'), 1e-4, 0, 'gradient of log τ');
    compareGrads('infonce', spec, oneGraph);

    // GradCache's three passes on the same inputs: embed, loss and its embedding gradients, backward.
    const dim = 16;
    const qe = await tr.encode({ tokens: q, seed: 0 });
    const de = await tr.encode({ tokens: d, seed: 0 });
    const l = await tr.loss(obj, { data: qe, dims: [q.n, q.length, dim], mask: q.scoringMask }, { data: de, dims: [d.n, d.length, dim], mask: d.scoringMask }, values);
    const cached = new Float32Array(tr.modelSize);
    await tr.backward({ tokens: q, seed: 0 }, l.queryGrad, [q.n, q.length, dim], cached);
    await tr.backward({ tokens: d, seed: 0 }, l.documentGrad, [d.n, d.length, dim], cached);
    assert.ok(Math.abs(l.loss - r.loss) <= 1e-5 * Math.abs(r.loss));
    compareGrads('infonce', spec, cached);

    const kq = batch('kd.query');
    const kd = batch('kd.document');
    const kdGrads = new Float32Array(tr.modelSize);
    const teacher = fx('kd.teacher').data as Float32Array;
    const k = await tr.step({ kind: 'kd', normalizeStudent: true, candidates: 3 }, { tokens: kq, seed: 0 }, { tokens: kd, seed: 0 }, { kind: 'kd', teacher, normalizer: 2 }, kdGrads);
    assert.ok(Math.abs(k.loss - fxf('kd.loss')[0]) <= 1e-4 * Math.abs(fxf('kd.loss')[0]), `KD loss ${k.loss} vs ${fxf('kd.loss')[0]}`);
    compareGrads('kd', spec, kdGrads);
  } finally {
    await tr.dispose();
    model.dispose();
  }
});

// ---- against the tfjs reference ---------------------------------------------------------------------

function example(name: string, dir: string, over: Record<string, unknown> = {}): TrainConfig {
  return resolvePaths(parseTrainConfig({ ...exampleConfig(name, dir), ...over }, name), dir);
}

for (const name of EXAMPLES) {
  test(`gradcheck --engine ort, ${name}: GradCache and 2 devices equal the tfjs one-graph gradient (≤ 1e-5)`, async () => {
    const dir = tmpDir(`ort-gc-${name}`);
    const cfg = example(name, dir);
    // A mini-batch of 2 rows, below each device's queries (so GradCache replays on 1 and on 2 devices).
    const gc = { ...cfg, miniBatch: 2 };
    assert.ok(gc.miniBatch < gc.batchSize / gc.accumulationSteps / 2, `${name}: each device needs more than 2 queries`);
    const r = await gradcheck(gc, 2, { engine: 'ort' });
    assert.equal(r.engine, 'ort');
    assert.ok(r.gradCacheVsPlain <= 1e-5, `${name}: ort GradCache vs tfjs one graph ${r.gradCacheVsPlain}`);
    assert.ok(r.devicesVsOne! <= 1e-5, `${name}: 2 devices vs 1 ${r.devicesVsOne}`);
    assert.ok(Math.abs(r.loss.gradCache - r.loss.plain) <= 1e-5 * Math.abs(r.loss.plain), `${name}: loss ${r.loss.gradCache} vs ${r.loss.plain}`);
    // And the one-graph ORT step (no mini-batches) on one device.
    const one = await gradcheck({ ...cfg, miniBatch: undefined }, 1, { engine: 'ort' });
    assert.ok(one.gradCacheVsPlain <= 1e-5, `${name}: ort one graph vs tfjs ${one.gradCacheVsPlain}`);
  });
}

for (const name of ['unsupervised-colbert', 'distillation-colbert'] as const) {
  test(`${name}, expansion tokens zeroed (Flash Attention, the paper's): ort GradCache and one graph equal the tfjs gradient; the loss differs from scored`, async () => {
    const dir = tmpDir(`ort-zeroed-${name}`);
    const base = example(name, dir);
    const withExpansion = (c: TrainConfig, e: 'scored' | 'zeroed'): TrainConfig => ({ ...c, model: { ...(c.model as Extract<TrainConfig['model'], { type: 'modernbert' }>), expansionTokens: e } });
    const cfg = withExpansion({ ...base, miniBatch: 2 }, 'zeroed');
    const r = await gradcheck(cfg, 1, { engine: 'ort' });
    assert.ok(r.gradCacheVsPlain <= 1e-5, `${name}: ort GradCache vs tfjs one graph ${r.gradCacheVsPlain}`);
    assert.ok(Math.abs(r.loss.gradCache - r.loss.plain) <= 1e-5 * Math.abs(r.loss.plain), `${name}: loss ${r.loss.gradCache} vs ${r.loss.plain}`);
    const one = await gradcheck({ ...cfg, miniBatch: undefined }, 1, { engine: 'ort' });
    assert.ok(one.gradCacheVsPlain <= 1e-5, `${name}: ort one graph vs tfjs ${one.gradCacheVsPlain}`);
    const scored = await gradcheck(withExpansion(cfg, 'scored'), 1, { engine: 'ort' });
    assert.ok(Math.abs(scored.loss.plain - r.loss.plain) > 1e-6, `${name}: zeroed ${r.loss.plain} vs scored ${scored.loss.plain}`);
  });
}

function losses(out: string): number[] {
  return fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as LogRecord).loss);
}

for (const name of ['supervised-colbert', 'distillation-colbert', 'unsupervised-dense']) {
  test(`${name}: ort and tfjs log the same losses over 15 steps (≤ 1e-4 relative)`, async () => {
    const dir = tmpDir(`ort-loss-${name}`);
    const base = { steps: 15, checkpointEvery: 100, eval: undefined };
    const a = example(name, dir, { ...base, output: path.join(dir, 'ort') });
    const b = example(name, dir, { ...base, output: path.join(dir, 'tfjs') });
    assert.equal((await runReplica(a, undefined, { engine: 'ort' })).engine, 'ort');
    assert.equal((await runReplica(b, undefined, { engine: 'tfjs' })).engine, 'tfjs');
    const la = losses(a.output);
    const lb = losses(b.output);
    assert.equal(la.length, 15);
    la.forEach((x, i) => assert.ok(Math.abs(x - lb[i]) <= 1e-4 * Math.abs(lb[i]), `step ${i + 1}: ort ${x} vs tfjs ${lb[i]}`));
    assert.ok(la[14] < la[0], `${name}: the loss goes down (${la[0]} → ${la[14]})`);
    assert.equal(JSON.parse(fs.readFileSync(path.join(a.output, 'config.json'), 'utf8')).engine, 'ort', 'the run records its engine');
  });
}

test('ort: 1 device and 2 devices (worker threads) log the same losses', async () => {
  const dir = tmpDir('ort-devices');
  const base = { steps: 4, checkpointEvery: 100, eval: undefined, engine: 'ort' };
  const one = example('unsupervised-colbert', dir, { ...base, output: path.join(dir, 'one') });
  const two = example('unsupervised-colbert', dir, { ...base, output: path.join(dir, 'two') });
  await train(one, { devices: 1 });
  await train(two, { devices: 2 });
  const a = losses(one.output);
  const b = losses(two.output);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= 1e-5 * Math.abs(x), `step ${i + 1}: 1 device ${x} vs 2 devices ${b[i]}`));
});

/** Runs the CLI until `until` says so, then SIGKILLs it; resolves with whether it was still running. */
function runAndKill(args: string[], until: () => boolean): Promise<{ killed: boolean; code: number | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, CZ_PROGRESS: '0' } });
    let killed = false;
    const timer = setInterval(() => {
      if (!killed && until()) {
        killed = child.kill('SIGKILL');
        clearInterval(timer);
      }
    }, 10);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ killed, code });
    });
  });
}

test('ort: kill -9 mid-run, then --resume: the final weights are byte-identical to an uninterrupted run', async () => {
  const dir = tmpDir('ort-kill');
  const write = (out: string) => {
    const raw = { ...exampleConfig('supervised-colbert', dir), steps: 30, checkpointEvery: 2, eval: undefined, output: path.join(dir, out), engine: 'ort' };
    const file = path.join(dir, `${out}.json`);
    fs.writeFileSync(file, JSON.stringify(raw));
    return file;
  };
  const full = write('full');
  const part = write('part');
  const run = (args: string[]) => new Promise<number | null>((res) => spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' }).on('exit', res));
  assert.equal(await run(['train', '--config', full]), 0);
  // Killed once step 5 is logged: past a checkpoint (step 4), before the end (step 30).
  const log = path.join(dir, 'part', 'log.jsonl');
  const k = await runAndKill(['train', '--config', part], () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim().split('\n').length >= 5);
  assert.ok(k.killed, `the run ended (code ${k.code}) before it could be killed`);
  const stepsBefore = fs.readFileSync(log, 'utf8').trim().split('\n').length;
  assert.ok(stepsBefore < 30, `killed after ${stepsBefore} of 30 steps`);
  assert.equal(await run(['train', '--config', part, '--resume']), 0);
  const resumedFrom = JSON.parse(fs.readFileSync(path.join(dir, 'part', 'config.json'), 'utf8'));
  assert.equal(resumedFrom.engine, 'ort');
  for (const f of ['model.safetensors', path.join('1_Dense', 'model.safetensors')]) {
    const a = fs.readFileSync(path.join(dir, 'full', 'model', f));
    const b = fs.readFileSync(path.join(dir, 'part', 'model', f));
    assert.ok(a.equals(b), `${f} differs after kill -9 and --resume`);
  }
  assert.deepEqual(losses(path.join(dir, 'part')), losses(path.join(dir, 'full')));
});

test('ort GradCache: the loss in query chunks (InfoNCE against all documents, KD against their own) gives the unchunked gradient', async () => {
  const { ortEmbeddingShare } = await import('../lib/train/ort/step');
  const { createEngine } = await import('../lib/train/engine');
  const { embeddingTask } = await import('../lib/train/tasks');
  const { LocalTransport } = await import('../lib/train/devices/transport');
  const { loadData } = await import('../lib/train/run');
  for (const name of ['supervised-colbert', 'distillation-colbert', 'unsupervised-dense']) {
    const dir = tmpDir(`ort-chunks-${name}`);
    const cfg = example(name, dir, { miniBatch: 4, accumulationSteps: 1 });
    const t = new LocalTransport();
    const engine = (await createEngine(cfg, t, 'ort')) as OrtEngine;
    const { sources, sampler } = loadData(cfg);
    const examples = sampler.batchAt(0).items.map((it) => sources[it.source][it.index]);
    const { task } = embeddingTask(cfg, examples);
    const tokenize = (x: string[], role: 'query' | 'document') => engine.model.tokenize(x, role);
    const [g1, g2] = [new Float32Array(engine.modelSize), new Float32Array(engine.modelSize)];
    const whole = await ortEmbeddingShare(engine.trainer, tokenize, task, engine.objectiveOf(task), t, { miniBatch: 4, stepSeed: 1 }, g1);
    const chunked = await ortEmbeddingShare(engine.trainer, tokenize, task, engine.objectiveOf(task), t, { miniBatch: 4, stepSeed: 1, lossChunkFloats: 1 }, g2);
    assert.ok(Math.abs(whole.loss - chunked.loss) <= 1e-5 * Math.abs(whole.loss), `${name}: loss ${chunked.loss} vs ${whole.loss}`);
    assert.ok(relativeError(g2, g1) <= 1e-6, `${name}: gradient ${relativeError(g2, g1)}`);
    await engine.dispose();
  }
});

test('ort: miniBatch unset is one graph even with hard negatives or KD candidates (no replay); a miniBatch replays', async () => {
  const { createEngine } = await import('../lib/train/engine');
  const { LocalTransport } = await import('../lib/train/devices/transport');
  const { loadData } = await import('../lib/train/run');
  for (const name of ['supervised-colbert', 'distillation-colbert']) {
    for (const miniBatch of [undefined, 4]) {
      const dir = tmpDir(`ort-one-graph-${name}`);
      const cfg = example(name, dir, { miniBatch, accumulationSteps: 1 });
      const t = new LocalTransport();
      const engine = (await createEngine(cfg, t, 'ort')) as OrtEngine;
      const calls = { step: 0, backward: 0 };
      const tr = engine.trainer as unknown as Record<'step' | 'backward', (...a: unknown[]) => Promise<unknown>>;
      for (const k of ['step', 'backward'] as const) {
        const f = tr[k].bind(tr);
        tr[k] = (...a: unknown[]) => ((calls[k] += 1), f(...a));
      }
      const { sources, sampler } = loadData(cfg);
      const examples = sampler.batchAt(0).items.map((it) => sources[it.source][it.index]);
      const r = await engine.microStep(examples, t, 1, new Float32Array(engine.params.length));
      assert.ok(Number.isFinite(r.loss));
      if (miniBatch === undefined) assert.deepEqual(calls, { step: 1, backward: 0 }, `${name}: one graph, no replay`);
      else assert.ok(calls.step === 0 && calls.backward > 1, `${name}, miniBatch 4: GradCache replays (${JSON.stringify(calls)})`);
      await engine.dispose();
    }
  }
});

test('ort: a step is deterministic on 2 threads (bit for bit), the same on 1 and 2 threads', async () => {
  const { probeGradient } = await import('../lib/train/run');
  for (const name of ['unsupervised-colbert', 'mlm']) {
    const dir = tmpDir(`ort-det-${name}`);
    const cfg = example(name, dir);
    const a = await probeGradient(cfg, undefined, { engine: 'ort', threads: 2 });
    const b = await probeGradient(cfg, undefined, { engine: 'ort', threads: 2 });
    const c = await probeGradient(cfg, undefined, { engine: 'ort', threads: 1 });
    assert.ok(Buffer.from(a.gradient.buffer).equals(Buffer.from(b.gradient.buffer)), `${name}: two runs on 2 threads differ`);
    assert.ok(relativeError(c.gradient, a.gradient) <= 1e-6, `${name}: 1 vs 2 threads ${relativeError(c.gradient, a.gradient)}`);
  }
});

test('the gradcheck command, --engine ort --devices 2: ok, and it says which engine it checked', async () => {
  const dir = tmpDir('ort-gradcheck-cli');
  const file = path.join(dir, 'sup.json');
  fs.writeFileSync(file, JSON.stringify({ ...exampleConfig('supervised-colbert', dir), miniBatch: 2 }));
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, 'gradcheck', '--config', file, '--engine', 'ort', '--devices', '2', '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('exit', (code) => resolve({ code, stdout }));
  });
  assert.equal(out.code, 0, out.stdout);
  const r = JSON.parse(out.stdout);
  assert.equal(r.engine, 'ort');
  assert.equal(r.ok, true);
  assert.ok(r.gradCacheVsPlain <= 1e-5 && r.devicesVsOne <= 1e-5, out.stdout);
});
