/**
 * The exact indexes against brute force: top-k by lib/scores' MaxSim (and dot product for dense), over
 * several blocks and query batches, with ties, empty documents, k > corpus size, float16 storage, and
 * save/load including corrupt and mismatched directories; the threaded search (documents split across
 * worker threads) against the single-thread path, exactly.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { UserError } from '../lib/index';
import { colbertScores, dotScores } from '../lib/index';
import { MultiVectorIndex, DenseIndex, saveIndex, loadIndex, unpad, topK, closeSearchWorkers, searchWorkerCount } from '../lib/retrieval';
import { decodeF16, encodeF16 } from '../lib/util/f16';
import { assertClose, seededFloats } from './helpers/tensors';
import { tmpDir } from './helpers/tmp';

const DIM = 8;

/** Random documents of 0..12 tokens (document 3 is empty) and queries of 1..6 tokens. */
function corpus(nDocs: number, nQueries: number, seed: number) {
  const r = seededFloats(nDocs + nQueries, seed);
  const docs = Array.from({ length: nDocs }, (_, i) => seededFloats((i === 3 ? 0 : 1 + Math.floor(((r[i] + 1) / 2) * 12)) * DIM, seed + 100 + i));
  const queries = Array.from({ length: nQueries }, (_, i) => seededFloats((1 + Math.floor(((r[nDocs + i] + 1) / 2) * 6)) * DIM, seed + 5000 + i));
  return { docs, queries };
}

/** Pads token matrices to [n, L, DIM] with a mask, as an encoder would emit them. */
function pad(items: Float32Array[]) {
  const L = Math.max(1, ...items.map((x) => x.length / DIM));
  const emb = new Float32Array(items.length * L * DIM);
  const mask = new Float32Array(items.length * L);
  items.forEach((x, i) => {
    emb.set(x, i * L * DIM);
    mask.fill(1, i * L, i * L + x.length / DIM);
  });
  return { emb, mask, L };
}

/** Brute force: all scores with lib/scores' colbertScores on padded tensors → [nq][nd]. */
function bruteForce(queries: Float32Array[], docs: Float32Array[]): number[][] {
  const q = pad(queries);
  const d = pad(docs);
  return tf.tidy(
    () =>
      colbertScores(
        tf.tensor3d(q.emb, [queries.length, q.L, DIM]),
        tf.tensor3d(d.emb, [docs.length, d.L, DIM]),
        tf.tensor2d(q.mask, [queries.length, q.L]),
        tf.tensor2d(d.mask, [docs.length, d.L]),
      ).arraySync() as number[][],
  );
}

/** Ranking by the documented rule, by a full sort: score descending, then lower index. */
function rank(scores: number[]): number[] {
  return scores.map((_, i) => i).sort((a, b) => scores[b] - scores[a] || a - b);
}

test('multi-vector top-k equals brute-force MaxSim over many blocks and query batches', async () => {
  await initBackend('wasm');
  const { docs, queries } = corpus(60, 7, 1);
  const index = new MultiVectorIndex({ dim: DIM, capacityTokens: 4 }); // tiny capacity: exercises regrowth
  docs.forEach((d, i) => index.add(`d${i}`, d));
  assert.equal(index.size, 60);
  assert.equal(index.length(3), 0);
  const want = bruteForce(queries, docs);
  // Blocks of ~40 tokens (several documents, sometimes one longer than the block) and batches of 3 queries.
  const hits = await index.search(queries, 10, { queryBatch: 3, maxBlockFloats: 40 * 20 });
  const all = await index.scoreAll(queries, { queryBatch: 3, maxBlockFloats: 40 * 20 });
  for (let qi = 0; qi < queries.length; qi++) {
    assertClose(all[qi], want[qi], 1e-5, `query ${qi} scores`);
    assert.equal(all[qi][3], 0, 'an empty document scores 0');
    const order = rank(want[qi]).slice(0, 10);
    assert.deepEqual(hits[qi].map((h) => h.doc), order, `query ${qi} ranking`);
    assert.deepEqual(hits[qi].map((h) => h.id), order.map((i) => `d${i}`));
    hits[qi].forEach((h, r) => assert.ok(Math.abs(h.score - want[qi][order[r]]) < 1e-4));
  }
  // The default (one block, one batch) gives the same ranking; timings are filled when asked for.
  const timings = { decode: 0, product: 0, segmentMax: 0 };
  const one = await index.search(queries, 10, { timings });
  assert.ok(timings.product > 0 && timings.segmentMax >= 0 && timings.decode >= 0, JSON.stringify(timings));
  assert.deepEqual(one.map((h) => h.map((x) => x.doc)), hits.map((h) => h.map((x) => x.doc)));
});

test('ties rank the lower internal index first; k larger than the corpus returns everything', async () => {
  await initBackend('wasm');
  // Integer-valued vectors make every score exact, so duplicates tie exactly.
  const base = [
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0],
    [0, 0, 3, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0],
  ].map((a) => Float32Array.from(a));
  const order = [2, 0, 1, 0, 2, 1, 0]; // documents 1,3,6 are copies of base[0]; 0,4 of base[2]; 2,5 of base[1]
  const index = new MultiVectorIndex({ dim: DIM });
  order.forEach((b, i) => index.add(`doc-${i}`, base[b]));
  const q = Float32Array.from([1, 1, 1, 0, 0, 0, 0, 0]);
  const [hits] = await index.search([q], 100);
  // Scores: base[0] → 1·1 + ... max(1, 2)=2; base[1] → 3; base[2] → 2.
  assert.deepEqual(
    hits.map((h) => [h.id, h.score]),
    [['doc-2', 3], ['doc-5', 3], ['doc-0', 2], ['doc-1', 2], ['doc-3', 2], ['doc-4', 2], ['doc-6', 2]],
  );
  // topK itself on hand-made ties, NaN last, k = 0 and k beyond length.
  assert.deepEqual(topK([1, 3, 3, NaN, 1, 3], 4), [1, 2, 5, 0]);
  assert.deepEqual(topK([NaN, 0], 5), [1, 0]);
  assert.deepEqual(topK([1, 2], 0), []);
});

test('padded encoder output (addPadded/unpad) indexes only scored tokens', async () => {
  await initBackend('wasm');
  const { docs, queries } = corpus(9, 2, 7);
  const p = pad(docs);
  const index = new MultiVectorIndex({ dim: DIM });
  index.addPadded(docs.map((_, i) => `p${i}`), p.emb, p.mask, p.L);
  docs.forEach((d, i) => assert.deepEqual(index.vectors(i), d));
  const q = pad(queries);
  const unpadded = unpad(q.emb, q.mask, queries.length, q.L, DIM);
  unpadded.forEach((u, i) => assert.deepEqual(u, queries[i]));
  const [a] = await index.scoreAll([unpadded[0]]);
  assertClose(a, bruteForce([queries[0]], docs)[0], 1e-5);
  assert.throws(() => index.add('p1', docs[0]), (e: Error) => e instanceof UserError && /duplicate document id 'p1'/.test(e.message));
  assert.throws(() => index.add('odd', new Float32Array(DIM + 1)), /not a multiple of dim 8/);
  const [empty] = await index.scoreAll([new Float32Array(0)]);
  assert.ok(empty.every((x) => x === 0), 'a query without tokens scores 0 everywhere');
});

test('float16 storage: exact on the rounded vectors, close to float32', async () => {
  await initBackend('wasm');
  const { docs, queries } = corpus(30, 4, 3);
  const f16 = new MultiVectorIndex({ dim: DIM, dtype: 'float16' });
  docs.forEach((d, i) => f16.add(`d${i}`, d));
  assert.equal(f16.vectorBytes, f16.totalTokens * DIM * 2);
  const rounded = docs.map((d) => decodeF16(encodeF16(d)));
  f16.vectors(0).forEach((v, i) => assert.equal(v, rounded[0][i]));
  const got = await f16.scoreAll(queries, { maxBlockFloats: 100 });
  const exact = bruteForce(queries, rounded);
  const f32 = bruteForce(queries, docs);
  for (let qi = 0; qi < queries.length; qi++) {
    assertClose(got[qi], exact[qi], 1e-5, 'f16 index vs brute force on rounded vectors');
    assertClose(got[qi], f32[qi], 2e-3, 'f16 index vs float32');
  }
});

test('dense index top-k equals brute-force dot products', async () => {
  await initBackend('wasm');
  const n = 50;
  const vecs = seededFloats(n * DIM, 20);
  const qs = seededFloats(5 * DIM, 21);
  const index = new DenseIndex({ dim: DIM });
  index.addRows(Array.from({ length: n }, (_, i) => `v${i}`), vecs);
  const want = tf.tidy(() => dotScores(tf.tensor2d(qs, [5, DIM]), tf.tensor2d(vecs, [n, DIM])).arraySync());
  const queries = Array.from({ length: 5 }, (_, i) => qs.subarray(i * DIM, (i + 1) * DIM));
  const hits = await index.search(queries, 7, { queryBatch: 2, maxBlockFloats: 16 });
  hits.forEach((h, qi) => {
    assert.deepEqual(h.map((x) => x.doc), rank(want[qi]).slice(0, 7));
    h.forEach((x) => assert.ok(Math.abs(x.score - want[qi][x.doc]) < 1e-5));
  });
  assert.throws(() => index.add('bad', new Float32Array(DIM * 2)), /expected dim 8/);
});

test('save/load round-trips both kinds and dtypes; corrupt or mismatched directories give clear errors', async () => {
  await initBackend('wasm');
  const tmp = tmpDir('index');
  try {
    const { docs, queries } = corpus(20, 3, 9);
    for (const dtype of ['float32', 'float16'] as const) {
      const index = new MultiVectorIndex({ dim: DIM, dtype });
      docs.forEach((d, i) => index.add(`d${i}`, d));
      const dir = path.join(tmp, `mv-${dtype}`);
      await saveIndex(index, dir);
      await saveIndex(index, dir); // replacing an existing index works
      const back = loadIndex(dir, { kind: 'multivector', dim: DIM });
      assert.ok(back instanceof MultiVectorIndex);
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.ids, index.ids);
      assert.deepEqual(await back.search(queries, 5), await index.search(queries, 5));
    }
    const dense = new DenseIndex({ dim: DIM, dtype: 'float16' });
    dense.addRows(['a', 'b'], seededFloats(2 * DIM, 3));
    await saveIndex(dense, path.join(tmp, 'dense'));
    const dback = loadIndex(path.join(tmp, 'dense'));
    assert.ok(dback instanceof DenseIndex);
    assert.deepEqual(dback.vectors(1), dense.vectors(1));

    const dir = path.join(tmp, 'mv-float32');
    const err = (re: RegExp) => (e: Error) => e instanceof UserError && re.test(e.message);
    assert.throws(() => loadIndex(dir, { dim: 16 }), err(/manifest\.json: has dim 8, the model produces 16/));
    assert.throws(() => loadIndex(dir, { kind: 'dense' }), err(/is a multivector index, expected dense/));
    assert.throws(() => loadIndex(path.join(tmp, 'nowhere')), err(/manifest\.json: missing/));
    // Flip one byte: checksum. Truncate: size, naming the file.
    const vec = path.join(dir, 'vectors.f32');
    const bytes = fs.readFileSync(vec);
    bytes[17] ^= 0xff;
    fs.writeFileSync(vec, bytes);
    assert.throws(() => loadIndex(dir), err(/vectors\.f32: checksum mismatch/));
    fs.writeFileSync(vec, bytes.subarray(0, bytes.length - 4));
    assert.throws(() => loadIndex(dir), err(/vectors\.f32: has \d+ bytes, expected \d+/));
    const manifest = path.join(dir, 'manifest.json');
    fs.writeFileSync(manifest, '{ not json');
    assert.throws(() => loadIndex(dir), err(/manifest\.json: not valid JSON/));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('threaded search equals the single-thread path exactly: ties across shards, k > docs, empty documents, f16, dense', async () => {
  await initBackend('wasm');
  try {
    const { docs, queries } = corpus(60, 7, 11);
    // Copies of documents 0 and 5 far from them (another shard) tie exactly with them; empty ones at 3 and at the end.
    const all = [...docs, docs[0], docs[5], new Float32Array(0), docs[0]];
    const threaded = { threads: 3, minShardTokens: 1 }; // three shards even for this small index
    const small = { queryBatch: 3, maxBlockFloats: 40 * 20 };
    for (const dtype of ['float32', 'float16'] as const) {
      const index = new MultiVectorIndex({ dim: DIM, dtype });
      all.forEach((d, i) => index.add(`d${i}`, d));
      const one = await index.search(queries, 100, { ...small, threads: 1 });
      const many = await index.search(queries, 100, { ...small, ...threaded });
      assert.equal(searchWorkerCount(), 2, 'two worker threads ran the other shards');
      assert.equal(many[0].length, all.length, 'k > documents returns every document');
      assert.deepEqual(many, one, `${dtype}: threaded hits (order, ids, scores) equal the single-thread ones`);
      const top5 = await index.search(queries, 5, { ...threaded, queryBatch: 32 });
      assert.deepEqual(top5, one.map((h) => h.slice(0, 5)), `${dtype}: k = 5, one batch`);
      const scoresOne = await index.scoreAll(queries, { threads: 1 });
      const scoresMany = await index.scoreAll(queries, threaded);
      scoresMany.forEach((row, q) => assert.deepEqual(Array.from(row), Array.from(scoresOne[q]), `${dtype}: scoreAll query ${q}`));
      // Against brute force (float16: on the rounded vectors), ranking by the documented rule.
      const want = bruteForce(queries, dtype === 'float16' ? all.map((d) => decodeF16(encodeF16(d))) : all);
      for (let q = 0; q < queries.length; q++) {
        assertClose(scoresMany[q], want[q], 1e-5, `${dtype}: query ${q} scores`);
        for (const e of [3, 62]) assert.equal(scoresMany[q][e], 0, 'an empty document scores 0');
        const tied = many[q].filter((h) => [0, 60, 63].includes(h.doc));
        assert.deepEqual(tied.map((h) => h.doc), [0, 60, 63], 'copies tie: lower internal index first');
        assert.ok(tied.every((h) => h.score === tied[0].score));
      }
    }
    // Integer vectors: exact ties whatever the arithmetic, spread over three shards.
    const base = [Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0]), Float32Array.from([0, 0, 3, 0, 0, 0, 0, 0]), Float32Array.from([1, 1, 0, 0, 0, 0, 0, 0])];
    const ties = new MultiVectorIndex({ dim: DIM, dtype: 'float16' });
    [2, 0, 1, 0, 2, 1, 0].forEach((b, i) => ties.add(`doc-${i}`, base[b]));
    const [hits] = await ties.search([Float32Array.from([1, 1, 1, 0, 0, 0, 0, 0])], 100, threaded);
    assert.deepEqual(
      hits.map((h) => [h.id, h.score]),
      [['doc-2', 3], ['doc-5', 3], ['doc-0', 2], ['doc-1', 2], ['doc-3', 2], ['doc-4', 2], ['doc-6', 2]],
    );
    // A dense index takes the same path.
    const n = 40;
    const dense = new DenseIndex({ dim: DIM });
    const vecs = seededFloats(n * DIM, 30);
    dense.addRows(Array.from({ length: n }, (_, i) => `v${i}`), vecs);
    dense.add('copy', vecs.subarray(0, DIM));
    const qs = Array.from({ length: 4 }, (_, i) => seededFloats(DIM, 40 + i));
    assert.deepEqual(await dense.search(qs, 50, threaded), await dense.search(qs, 50, { threads: 1 }));
    // Products on tfjs in the worker threads too.
    assert.deepEqual(await dense.search(qs, 50, { ...threaded, product: 'tfjs' }), await dense.search(qs, 50, { threads: 1, product: 'tfjs' }));
    // A query without tokens scores 0 everywhere on the threaded path too.
    const index = new MultiVectorIndex({ dim: DIM });
    docs.forEach((d, i) => index.add(`d${i}`, d));
    const [empty] = await index.scoreAll([new Float32Array(0)], threaded);
    assert.ok(empty.every((x) => x === 0));
  } finally {
    await closeSearchWorkers();
  }
  assert.equal(searchWorkerCount(), 0);
});
