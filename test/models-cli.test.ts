/**
 * The model commands end to end on a tiny model: init-model → encode → score → index → search, checked
 * against the same work done in-process through the library; bad input gives one clear line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { ColbertModel } from '../lib/index';
import { readSafetensors } from '../lib/models/safetensors';
import { colbertScores } from '../lib/index';
import { runCli } from './helpers/cli';
import { assertClose } from './helpers/tensors';
import { PROJECT_ROOT } from './helpers/shared';

const CONFIG = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'hf-mlm', 'config.json');

describe('model commands', () => {
  let dir: string;
  const p = (f: string) => path.join(dir, f);
  const ok = (args: string[]) => {
    const r = runCli(args);
    assert.equal(r.code, 0, `${args[0]} failed: ${r.stderr}`);
    return r;
  };

  before(async () => {
    await initBackend();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-cli-'));
    fs.writeFileSync(p('q.jsonl'), ['{"_id":"q1","text":"rotary embeddings"}', '{"_id":"q2","text":"one vector per token"}'].join('\n') + '\n');
    fs.writeFileSync(
      p('d.jsonl'),
      [
        '{"_id":"d1","title":"RoPE","text":"Rotary embeddings rotate query and key vectors by an angle."}',
        '{"_id":"d2","text":"ColBERT keeps one vector per token."}',
        '{"_id":"d3","text":"Cats sleep."}',
      ].join('\n') + '\n',
    );
    ok(['init-model', '--config', CONFIG, '--head', 'colbert', '--dim', '16', '--seed', '3', '--out', p('m')]);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('init-model writes the PyLate layout', () => {
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'modules.json', 'config_sentence_transformers.json', '1_Dense/model.safetensors']) {
      assert.ok(fs.existsSync(p(`m/${f}`)), `missing ${f}`);
    }
  });

  it('encode and score agree with the library', async () => {
    ok(['encode', '--model', p('m'), '--input', p('q.jsonl'), '--as', 'query', '--out', p('q.safetensors'), '--batch-size', '1']);
    const file = readSafetensors(p('q.safetensors'));
    assert.deepEqual(JSON.parse(file.metadata.ids), ['q1', 'q2']);
    const emb = file.tensors.get('embeddings')!;
    assert.deepEqual(emb.shape, [2, 32, 16]);
    assert.deepEqual(file.tensors.get('mask')!.shape, [2, 32]);

    const model = await ColbertModel.fromPretrained(p('m'));
    const q = await model.encode(['rotary embeddings', 'one vector per token'], 'query');
    assertClose(emb.data as Float32Array, q.embeddings.dataSync(), 1e-6, 'CLI query embeddings');
    const d = await model.encode(['RoPE Rotary embeddings rotate query and key vectors by an angle.', 'ColBERT keeps one vector per token.', 'Cats sleep.'], 'document');
    const s = colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);

    const r = ok(['score', '--model', p('m'), '--queries', p('q.jsonl'), '--documents', p('d.jsonl')]);
    const matrix = JSON.parse(r.stdout) as number[][];
    assert.equal(matrix.length, 2);
    assert.equal(matrix[0].length, 3);
    assertClose(matrix.flat(), s.dataSync(), 1e-5, 'CLI scores');

    ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx')]);
    ok(['search', '--index', p('idx'), '--model', p('m'), '--queries', p('q.jsonl'), '--k', '2', '--out', p('run.trec')]);
    const lines = fs.readFileSync(p('run.trec'), 'utf8').trim().split('\n').map((l) => l.split(' '));
    assert.equal(lines.length, 4);
    const scores = s.arraySync() as number[][];
    for (const [qi, qid] of ['q1', 'q2'].entries()) {
      const best = scores[qi].indexOf(Math.max(...scores[qi]));
      const top = lines.find((l) => l[0] === qid && l[3] === '1')!;
      assert.equal(top[2], `d${best + 1}`);
      assert.ok(Math.abs(Number(top[4]) - scores[qi][best]) < 1e-4 * Math.abs(scores[qi][best]));
    }
    tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);
    model.dispose();
  });

  it('encode --workers 2 gives what one thread gives', () => {
    ok(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('d1.safetensors')]);
    ok(['encode', '--model', p('m'), '--input', p('d.jsonl'), '--as', 'document', '--out', p('d2.safetensors'), '--workers', '2', '--batch-size', '2']); // ≥ 2 batches, so both workers run
    const one = readSafetensors(p('d1.safetensors'));
    const two = readSafetensors(p('d2.safetensors'));
    assert.deepEqual(two.metadata.ids, one.metadata.ids);
    assert.deepEqual(two.tensors.get('embeddings')!.shape, one.tensors.get('embeddings')!.shape);
    assert.deepEqual(Array.from(two.tensors.get('mask')!.data as Float32Array), Array.from(one.tensors.get('mask')!.data as Float32Array));
    // Different batches change the matMul shapes, hence float rounding (observed ~1e-8), never more.
    assertClose(two.tensors.get('embeddings')!.data as Float32Array, one.tensors.get('embeddings')!.data as Float32Array, 1e-6, 'embeddings');
  });

  it('an index knows its model: searching it with another model of the same shape is refused unless forced', () => {
    ok(['init-model', '--config', CONFIG, '--head', 'colbert', '--dim', '16', '--seed', '4', '--out', p('other')]);
    ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx-m')]);
    const manifest = JSON.parse(fs.readFileSync(p('idx-m/manifest.json'), 'utf8'));
    assert.match(manifest.model.fingerprint, /^[0-9a-f]{64}$/);
    const r = runCli(['search', '--index', p('idx-m'), '--model', p('other'), '--queries', p('q.jsonl'), '--out', p('other.trec')]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /manifest\.json: was built with another model/);
    assert.ok(!fs.existsSync(p('other.trec')));
    ok(['search', '--index', p('idx-m'), '--model', p('other'), '--queries', p('q.jsonl'), '--out', p('other.trec'), '--force']);
    // The same weights in another folder are the same model.
    fs.cpSync(p('m'), p('m-copy'), { recursive: true });
    ok(['search', '--index', p('idx-m'), '--model', p('m-copy'), '--queries', p('q.jsonl'), '--out', p('copy.trec')]);
  });

  it('index --workers 2 (ParallelEncoder through indexCorpus) gives the run one thread gives', () => {
    ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx-1')]);
    ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx-2'), '--workers', '2']);
    const runs = ['idx-1', 'idx-2'].map((ix) => {
      ok(['search', '--index', p(ix), '--model', p('m'), '--queries', p('q.jsonl'), '--k', '3', '--out', p(`${ix}.trec`)]);
      return fs.readFileSync(p(`${ix}.trec`), 'utf8').trim().split('\n').map((l) => l.split(' '));
    });
    assert.deepEqual(runs[1].map((l) => l.slice(0, 4)), runs[0].map((l) => l.slice(0, 4)));
    runs[0].forEach((l, i) => assert.ok(Math.abs(Number(l[4]) - Number(runs[1][i][4])) < 1e-5, `score ${l[4]} vs ${runs[1][i][4]}`));
  });

  it('a killed index leaves no temporary folder behind for long: the next write of that index removes it', () => {
    // What `index` leaves when killed mid-write: a hidden temporary beside the target, named by a process that is gone.
    const stale = p('.idx-k.tmp-2147483646-1700000000000');
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, 'vectors.f32'), Buffer.alloc(1024));
    const mine = p('.idx-k.tmp-notours');
    fs.mkdirSync(mine); // not a name the library makes: left alone
    ok(['index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx-k')]);
    assert.ok(!fs.existsSync(stale), 'stale temporary removed');
    assert.ok(fs.existsSync(mine), 'a folder the library did not make is kept');
    assert.ok(fs.existsSync(p('idx-k/manifest.json')));
  });

  it('reports a missing model folder in one line, and a bad role as usage', () => {
    const r = runCli(['encode', '--model', p('nope'), '--input', p('q.jsonl'), '--as', 'query', '--out', p('x.safetensors')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /nope: not a model folder/);
    const u = runCli(['encode', '--model', p('m'), '--input', p('q.jsonl'), '--as', 'passage', '--out', p('x.safetensors')]);
    assert.equal(u.code, 2);
  });
});
