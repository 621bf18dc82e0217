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
import { initBackend } from '../lib/backend';
import { ColbertModel } from '../lib/models/colbert';
import { readSafetensors } from '../lib/models/safetensors';
import { colbertScores } from '../lib/scores';
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

  it('reports a missing model folder in one line, and a bad role as usage', () => {
    const r = runCli(['encode', '--model', p('nope'), '--input', p('q.jsonl'), '--as', 'query', '--out', p('x.safetensors')]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /nope: not a model folder/);
    const u = runCli(['encode', '--model', p('m'), '--input', p('q.jsonl'), '--as', 'passage', '--out', p('x.safetensors')]);
    assert.equal(u.code, 2);
  });
});
