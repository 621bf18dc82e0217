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
import { preload, runCli } from './helpers/cli';
import { mulberry32 } from '../lib/util/rng';
import { assertClose } from './helpers/tensors';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

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
    dir = tmpDir('cli');
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

  /** 300 documents of 30–70 words from a seeded generator: ~50k token vectors, enough for 3 search shards of 16,384. */
  const manyDocs = () => {
    const words = 'apple river stone cloud green orange tiger maple violet copper silver lemon harbor canyon meadow falcon ember frost glacier willow'.split(' ');
    const next = mulberry32(11);
    const pick = (n: number) => Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ');
    if (!fs.existsSync(p('many.jsonl'))) {
      fs.writeFileSync(p('many.jsonl'), Array.from({ length: 300 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: pick(30 + Math.floor(next() * 40)) })).join('\n') + '\n');
      fs.writeFileSync(p('many-q.jsonl'), Array.from({ length: 12 }, (_, i) => JSON.stringify({ _id: `q${i}`, text: pick(4) })).join('\n') + '\n');
      ok(['index', '--model', p('m'), '--corpus', p('many.jsonl'), '--out', p('idx-many')]);
    }
    return JSON.parse(fs.readFileSync(p('idx-many/manifest.json'), 'utf8')) as { tokens: number; dtype: string; files: { vectors: string } };
  };
  const runLines = (f: string) => fs.readFileSync(p(f), 'utf8').trim().split('\n').map((l) => l.split(' '));

  it('search --threads N gives the run one thread gives, byte for byte (the documents split over worker threads)', (t) => {
    // --threads is capped at the cores (more only makes the OS juggle them): as many as this machine has, up to 3.
    const threads = Math.min(3, os.availableParallelism());
    if (threads < 2) return t.skip('one core: search runs on one thread');
    const m = manyDocs();
    assert.ok(m.tokens >= threads * 16384, `${m.tokens} vectors: too few for ${threads} shards of 16,384`);
    const workers = p('workers.txt');
    ok(['search', '--index', p('idx-many'), '--model', p('m'), '--queries', p('many-q.jsonl'), '--k', '20', '--out', p('one.trec'), '--threads', '1']);
    const r = runCli(['search', '--index', p('idx-many'), '--model', p('m'), '--queries', p('many-q.jsonl'), '--k', '20', '--out', p('threaded.trec'), '--threads', String(threads)], { env: { ...preload('record-workers.cjs'), CZ_TEST_WORKERS_FILE: workers } });
    assert.equal(r.code, 0, r.stderr);
    // Shard 0 runs in the main thread, the others on search worker threads.
    assert.equal(fs.readFileSync(workers, 'utf8').split('\n').filter((w) => w === 'search-worker-bootstrap.cjs').length, threads - 1, 'the threaded search ran');
    assert.equal(runLines('threaded.trec').length, 12 * 20);
    assert.equal(fs.readFileSync(p('threaded.trec'), 'utf8'), fs.readFileSync(p('one.trec'), 'utf8'));
  });

  it('index --dtype float16 stores each vector rounded to the nearest binary16, and search on it stays within the rounding bound', () => {
    manyDocs();
    ok(['index', '--model', p('m'), '--corpus', p('many.jsonl'), '--out', p('idx-f16'), '--dtype', 'float16']);
    const m16 = JSON.parse(fs.readFileSync(p('idx-f16/manifest.json'), 'utf8'));
    assert.equal(m16.dtype, 'float16');
    const f32 = fs.readFileSync(p('idx-many/vectors.f32'));
    const f16 = fs.readFileSync(p(`idx-f16/${m16.files.vectors}`));
    assert.equal(f16.length * 2, f32.length, 'two bytes per value');
    // binary16 decoded here (IEEE 754: 1 sign, 5 exponent, 10 fraction bits), against the float32 index.
    const half = (h: number) => {
      const e = (h >> 10) & 31;
      const f = h & 1023;
      const v = e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1 + f / 1024) * 2 ** (e - 15);
      return h & 0x8000 ? -v : v;
    };
    let worst = 0;
    for (let i = 0; i < f32.length / 4; i++) {
      const x = f32.readFloatLE(4 * i);
      const y = half(f16.readUInt16LE(2 * i));
      // nearest: within half a unit in the last place (2^-11 relative; 2^-25 absolute below the normal range)
      worst = Math.max(worst, Math.abs(y - x) / Math.max(Math.abs(x) * 2 ** -11, 2 ** -25));
    }
    assert.ok(worst <= 1 + 1e-9, `a value is ${worst} half-ulps from its float32`);
    for (let v = 0; v < 100; v++) {
      let norm = 0;
      for (let k = 0; k < 16; k++) norm += f32.readFloatLE(4 * (16 * v + k)) ** 2;
      assert.ok(Math.abs(Math.sqrt(norm) - 1) < 1e-5, `vector ${v} is not unit length (the bound below assumes it)`);
    }
    // Search through the CLI on both: with unit vectors each dot product moves by at most 2^-11 (Cauchy–Schwarz),
    // so a score (a sum over the 32 query vectors of maxima) by at most 32 · 2^-11.
    for (const [idx, out] of [['idx-many', 'all32.trec'], ['idx-f16', 'all16.trec']]) ok(['search', '--index', p(idx), '--model', p('m'), '--queries', p('many-q.jsonl'), '--k', '300', '--out', p(out)]);
    const scores = (f: string) => new Map(runLines(f).map((l) => [`${l[0]} ${l[2]}`, Number(l[4])]));
    const s32 = scores('all32.trec');
    const s16 = scores('all16.trec');
    assert.equal(s16.size, 12 * 300);
    for (const [key, v] of s16) assert.ok(Math.abs(v - s32.get(key)!) <= 32 * 2 ** -11, `${key}: float16 ${v}, float32 ${s32.get(key)}`);
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
