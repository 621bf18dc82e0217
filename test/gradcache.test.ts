/** GradCache equals plain back-propagation over the full batch (float32, normwise relative error ≤ 1e-5). */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { embedNoGraph, gradCacheStep, lossAndEmbeddingGrads, plainStep, type EmbedInput, type EmbeddingLoss } from '../lib/train/gradcache';
import { contrastiveObjective, contrastiveTask, distillationObjective, distillationTask } from '../lib/train/tasks';
import type { TripletExample } from '../lib/data/training';
import { sliceRows } from '../lib/train/rows';
import type { Encoded } from '../lib/index';
import { TinyEncoder } from './train-helpers/tiny-encoder';
import { maxRelError } from './helpers/tensors';

before(async () => {
  await initBackend();
});

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau'.split(' ');
function sentence(i: number, n: number): string {
  return Array.from({ length: n }, (_, k) => WORDS[(i * 7 + k * 3 + ((i * k) % 5)) % WORDS.length]).join(' ');
}
function triplets(b: number, negs: number): TripletExample[] {
  return Array.from({ length: b }, (_, i) => ({
    query: sentence(i, 3 + (i % 3)),
    positive: sentence(i + 100, 5 + (i % 4)),
    negatives: Array.from({ length: negs }, (_, j) => sentence(i * 10 + j + 200, 4 + j)),
  }));
}

function inputs(model: TinyEncoder, queries: string[], documents: string[]): EmbedInput[] {
  return [
    { role: 'query', tokens: model.tokenize(queries, 'query') },
    { role: 'document', tokens: model.tokenize(documents, 'document') },
  ];
}

async function compare(model: TinyEncoder, inp: EmbedInput[], loss: EmbeddingLoss, extra: tf.Variable[], miniBatch: number, full: number): Promise<void> {
  const cached = await gradCacheStep(model, inp, loss, extra, { miniBatch, stepSeed: 5 });
  const plain = plainStep(model, inp, loss, extra, { miniBatch: full, stepSeed: 5 });
  assert.ok(Math.abs(cached.loss - plain.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${cached.loss} vs ${plain.loss}`);
  const a = new Float32Array(cached.grads.flatMap((g) => Array.from(g.dataSync())).concat(cached.extraGrads.flatMap((g) => Array.from(g.dataSync()))));
  const b = new Float32Array(plain.grads.flatMap((g) => Array.from(g.dataSync())).concat(plain.extraGrads.flatMap((g) => Array.from(g.dataSync()))));
  const err = maxRelError(a, b);
  assert.ok(err <= 1e-5, `gradient relative error ${err}`);
  assert.ok(Math.max(...b.map(Math.abs)) > 1e-4, 'gradient must not be trivially zero');
}

for (const kind of ['dense', 'colbert'] as const) {
  for (const negs of [0, 2]) {
    test(`GradCache = full-batch gradient: ${kind}, ${negs} hard negatives, learnable temperature, mini-batch 3 of 8`, async () => {
      const model = new TinyEncoder({ kind, seed: 3 });
      const task = contrastiveTask(negs === 0 ? triplets(8, 0).map((t) => ({ query: t.query, document: t.positive })) : triplets(8, negs), negs);
      const logT = tf.variable(tf.scalar(Math.log(0.05)), true, `logT-${kind}-${negs}`);
      await await compare(model, inputs(model, task.queries, task.documents), contrastiveObjective(task.docsPerQuery, { value: 0.05, learnable: true }), [logT], 3, 1000);
    });
  }
}

test('GradCache with dropout replays the same masks (reference: same seeded mini-batches in one graph)', async () => {
  const model = new TinyEncoder({ kind: 'colbert', seed: 4, dropout: 0.3 });
  const task = contrastiveTask(triplets(6, 1), 1);
  const inp = inputs(model, task.queries, task.documents);
  const loss = contrastiveObjective(task.docsPerQuery, { value: 0.1, learnable: false });
  await compare(model, inp, loss, [], 2, 2);
  // And dropout really acts: a different step seed changes the loss.
  const a = (await gradCacheStep(model, inp, loss, [], { miniBatch: 2, stepSeed: 5 })).loss;
  const b = (await gradCacheStep(model, inp, loss, [], { miniBatch: 2, stepSeed: 6 })).loss;
  assert.notEqual(a, b);
});

test('GradCache = full-batch gradient for distillation (ColBERT, 4 candidates, normalised student)', async () => {
  const model = new TinyEncoder({ kind: 'colbert', seed: 5 });
  const ex = triplets(5, 3).map((t, i) => ({ query: t.query, documents: [t.positive, ...t.negatives], scores: [3 - i * 0.1, 1, 0.5 * i, -1] }));
  const task = distillationTask(ex, 4);
  await await compare(model, inputs(model, task.queries, task.documents), distillationObjective(task.teacher!, 4, true), [], 2, 1000);
});

test('phase 2 in query chunks (bounded score matrix) equals phase 2 in one piece', () => {
  for (const kind of ['dense', 'colbert'] as const) {
    const model = new TinyEncoder({ kind, seed: 6 });
    const task = contrastiveTask(triplets(7, 2), 2);
    const inp = inputs(model, task.queries, task.documents);
    const enc = inp.map((i) => embedNoGraph(model, i, { miniBatch: 4, stepSeed: 1 }));
    const logT = tf.variable(tf.scalar(Math.log(0.05)), true, `logT-chunks-${kind}`);
    const loss = contrastiveObjective(task.docsPerQuery, { value: 0.05, learnable: true });
    const whole = lossAndEmbeddingGrads(loss, enc, [logT]);
    const parts = lossAndEmbeddingGrads(loss, enc, [logT], 21 * 3); // 3 queries × 21 documents per chunk
    assert.ok(Math.abs(parts.loss - whole.loss) <= 1e-6 * Math.abs(whole.loss), `${kind} loss`);
    [0, 1].forEach((i) => assert.ok(maxRelError(parts.embeddingGrads[i].dataSync(), whole.embeddingGrads[i].dataSync()) <= 1e-6, `${kind} group ${i}`));
    assert.ok(maxRelError(parts.extraGrads[0].dataSync(), whole.extraGrads[0].dataSync()) <= 1e-5, `${kind} temperature`);
  }
});

test('GradCache across two devices (the gather the training step uses): the shards\' gradients add up to the full-batch gradient', async () => {
  const model = new TinyEncoder({ kind: 'colbert', seed: 8, dropout: 0.2 });
  const task = contrastiveTask(triplets(6, 1), 1);
  const loss = contrastiveObjective(task.docsPerQuery, { value: 0.1, learnable: false });
  const full = inputs(model, task.queries, task.documents);
  const opts = { miniBatch: 3, stepSeed: 9 }; // chunk boundaries that the shards share, so dropout seeds match
  // Device r holds rows [r·n/2, (r+1)·n/2) of each group; the gather returns every device's embeddings in rank order.
  const shard = (inp: EmbedInput, r: number): EmbedInput => {
    const per = inp.tokens.n / 2;
    return { role: inp.role, tokens: sliceRows(inp.tokens, r * per, (r + 1) * per), rowOffset: r * per };
  };
  let sum: Float32Array | null = null;
  let shardLoss = NaN;
  for (const r of [0, 1]) {
    let group = 0;
    const gather = async (local: Encoded): Promise<Encoded> => {
      const g = group++;
      const parts = [0, 1].map((o) => (o === r ? local : embedNoGraph(model, shard(full[g], o), opts)));
      const out = { kind: local.kind, embeddings: tf.concat(parts.map((p) => p.embeddings), 0), mask: tf.concat(parts.map((p) => p.mask!), 0) as tf.Tensor2D };
      parts.forEach((p) => (p.embeddings.dispose(), p.mask?.dispose()));
      return out;
    };
    const res = await gradCacheStep(model, full.map((inp) => shard(inp, r)), loss, [], { ...opts, gather });
    const flat = new Float32Array(res.grads.flatMap((g) => Array.from(g.dataSync())));
    sum = sum ? sum.map((x, i) => x + flat[i]) : flat;
    shardLoss = res.loss;
  }
  const plain = plainStep(model, full, loss, [], { ...opts });
  assert.ok(Math.abs(shardLoss - plain.loss) <= 1e-6 * Math.abs(plain.loss), `loss ${shardLoss} vs ${plain.loss}`);
  const ref = new Float32Array(plain.grads.flatMap((g) => Array.from(g.dataSync())));
  assert.ok(maxRelError(sum!, ref) <= 1e-5, `gradient relative error ${maxRelError(sum!, ref)}`);
});
