/**
 * The engine switch and the model.onnx cache, end to end: `export-onnx` writes model.onnx atomically beside
 * the checkpoint; encode/score/index/search give the same numbers on --engine ort and --engine tfjs;
 * CZ_ENGINE selects; a bad engine name or a contradictory flag is one clear line; a cached model.onnx is
 * reused while the weights are unchanged and rebuilt when they change.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../lib/backend';
import { resolveEngine } from '../lib/backend/engine';
import { freshOnnx, ONNX_FILE, ONNX_RECORD_FILE } from '../lib/models/onnx/export';
import { OrtEncoder } from '../lib/models/onnx/ort-encoder';
import { readSafetensors, writeSafetensors } from '../lib/models/safetensors';
import { runCli } from './helpers/cli';
import { assertClose } from './helpers/tensors';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const CONFIG = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'hf-mlm', 'config.json');

describe('engine switch and model.onnx cache', () => {
  let dir: string;
  const p = (f: string) => path.join(dir, f);
  const ok = (args: string[], env?: Record<string, string>) => {
    const r = runCli(args, { env });
    assert.equal(r.code, 0, `${args[0]} failed: ${r.stderr}`);
    return r;
  };

  before(async () => {
    await initBackend();
    dir = tmpDir('engine');
    fs.writeFileSync(p('q.jsonl'), ['{"_id":"q1","text":"rotary embeddings"}', '{"_id":"q2","text":"one vector per token"}'].join('\n') + '\n');
    fs.writeFileSync(p('d.jsonl'), ['{"_id":"d1","title":"RoPE","text":"Rotary embeddings rotate query and key vectors by an angle, position by position, in every attention layer."}', '{"_id":"d2","text":"ColBERT keeps one vector per token."}', '{"_id":"d3","text":"Cats sleep."}'].join('\n') + '\n');
    ok(['init-model', '--config', CONFIG, '--head', 'colbert', '--dim', '16', '--seed', '3', '--out', p('m')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('export-onnx writes model.onnx and its record, nothing else', () => {
    const before = new Set(fs.readdirSync(p('m')));
    const r = ok(['export-onnx', '--model', p('m')]);
    assert.match(r.stderr, /model\.onnx: colbert model, dim 16/);
    const added = fs.readdirSync(p('m')).filter((f) => !before.has(f)).sort();
    assert.deepEqual(added, [ONNX_FILE, ONNX_RECORD_FILE]);
    assert.ok(freshOnnx(p('m')));
  });

  it('encode and score give the same numbers on both engines', () => {
    ok(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('ort.safetensors'), '--engine', 'ort', '--threads', '2']);
    ok(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('tfjs.safetensors')], { CZ_ENGINE: 'tfjs' });
    const a = readSafetensors(p('ort.safetensors')).tensors;
    const b = readSafetensors(p('tfjs.safetensors')).tensors;
    assert.deepEqual(a.get('embeddings')!.shape, b.get('embeddings')!.shape);
    assertClose(a.get('embeddings')!.data as Float32Array, b.get('embeddings')!.data as Float32Array, 1e-4, 'encode ort vs tfjs');
    assert.deepEqual(Array.from(a.get('mask')!.data as Float32Array), Array.from(b.get('mask')!.data as Float32Array));
    const s1 = JSON.parse(ok(['score', '--model', p('m'), '--queries', p('q.jsonl'), '--documents', p('d.jsonl'), '--engine', 'ort']).stdout) as number[][];
    const s2 = JSON.parse(ok(['score', '--model', p('m'), '--queries', p('q.jsonl'), '--documents', p('d.jsonl'), '--engine', 'tfjs']).stdout) as number[][];
    assertClose(s1.flat(), s2.flat(), 1e-4, 'score ort vs tfjs');
  });

  it('index + search give the same run on both engines', () => {
    for (const e of ['ort', 'tfjs']) {
      ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p(`idx-${e}`), '--engine', e]);
      ok(['search', '--model', p('m'), '--index', p(`idx-${e}`), '--queries', p('q.jsonl'), '--k', '3', '--out', p(`${e}.run`), '--engine', e]);
    }
    const rows = (f: string) => fs.readFileSync(p(f), 'utf8').trim().split('\n').map((l) => l.split(/\s+/));
    const a = rows('ort.run');
    const b = rows('tfjs.run');
    assert.deepEqual(a.map((r) => [r[0], r[2]]), b.map((r) => [r[0], r[2]]));
    assertClose(a.map((r) => Number(r[4])), b.map((r) => Number(r[4])), 1e-4, 'run scores');
    // An index built on one engine is searched on the other: model.onnx(.meta) are not part of the model's fingerprint.
    ok(['search', '--model', p('m'), '--index', p('idx-tfjs'), '--queries', p('q.jsonl'), '--k', '3', '--out', p('cross.run'), '--engine', 'ort']);
    assert.deepEqual(rows('cross.run').map((r) => [r[0], r[2]]), b.map((r) => [r[0], r[2]]));
  });

  it('a bad engine name, or ort with tfjs workers, is one clear line (a usage error: exit 2)', () => {
    const bad = runCli(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('x.safetensors'), '--engine', 'torch']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--engine <name>' argument 'torch' is invalid\. must be one of ort, tfjs/);
    const env = runCli(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('x.safetensors')], { env: { CZ_ENGINE: 'gpu' } });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /CZ_ENGINE=gpu: takes ort or tfjs/);
    const workers = runCli(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('x.safetensors'), '--engine', 'ort', '--workers', '2']);
    assert.equal(workers.code, 2);
    assert.match(workers.stderr, /--workers 2 runs tfjs copies of the model; the ort engine \(--engine\) uses --threads instead/);
    assert.equal(workers.stderr.trim().split('\n').length, 1);
  });

  it('where onnxruntime-node does not load: the default is tfjs, a forced ort is one clear error', () => {
    const block = { NODE_OPTIONS: `--require ${path.join(PROJECT_ROOT, 'test', 'helpers', 'block-onnxruntime.cjs')}` };
    const args = ['encode', '--model', p('m'), '--input', p('q.jsonl'), '--as', 'query', '--out', p('noort.safetensors'), '--overwrite'];
    ok(args, block);
    const forced = runCli([...args, '--engine', 'ort'], { env: block });
    assert.equal(forced.code, 1);
    assert.equal(forced.stderr.trim().split('\n').length, 1, forced.stderr);
    assert.match(forced.stderr, /engine 'ort' could not be loaded: onnxruntime-node: .*simulated by the test/);
    const env = runCli(args, { env: { ...block, CZ_ENGINE: 'ort' } });
    assert.equal(env.code, 1);
    assert.match(env.stderr, /engine 'ort' could not be loaded/);
  });

  it('resolveEngine: argument, then CZ_ENGINE, then ort where it loads', () => {
    const saved = process.env.CZ_ENGINE;
    try {
      delete process.env.CZ_ENGINE;
      assert.deepEqual(resolveEngine(), { engine: 'ort', chosenBy: 'default' });
      process.env.CZ_ENGINE = 'tfjs';
      assert.deepEqual(resolveEngine(), { engine: 'tfjs', chosenBy: 'CZ_ENGINE' });
      assert.deepEqual(resolveEngine('ort'), { engine: 'ort', chosenBy: 'argument' });
    } finally {
      if (saved === undefined) delete process.env.CZ_ENGINE;
      else process.env.CZ_ENGINE = saved;
    }
  });

  it('reuses a fresh model.onnx and rebuilds it when the weights change', async () => {
    const m = p('m');
    const first = await OrtEncoder.open(m, { threads: 1 });
    assert.equal(first.built, false, 'exported earlier');
    const q1 = await first.run(first.tokenize(['rotary embeddings'], 'query'));
    first.dispose();
    // Retrain-like change: scale one weight matrix.
    const file = path.join(m, 'model.safetensors');
    const st = readSafetensors(file);
    const w = st.tensors.get('layers.0.attn.Wo.weight')!;
    const scaled = Float32Array.from(w.data as Float32Array, (v) => v * 3);
    writeSafetensors(file, new Map([...st.tensors].map(([k, t]) => [k, { shape: t.shape, data: k === 'layers.0.attn.Wo.weight' ? scaled : (t.data as Float32Array) }])), { metadata: st.metadata });
    assert.equal(freshOnnx(m), null, 'stale after the weights changed');
    const second = await OrtEncoder.open(m, { threads: 1 });
    assert.equal(second.built, true);
    const q2 = await second.run(second.tokenize(['rotary embeddings'], 'query'));
    assert.notDeepEqual(Array.from(q1), Array.from(q2));
    second.dispose();
    const third = await OrtEncoder.open(m, { threads: 1 });
    assert.equal(third.built, false);
    third.dispose();
  });
});
