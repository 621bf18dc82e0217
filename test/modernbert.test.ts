/**
 * ModernBERT against transformers (fixtures from test/reference/make_model_fixtures.py): last hidden
 * states with padding in the batch and a sequence longer than the local window, eager and sdpa, and
 * masked-LM logits; plus seeded dropout replay and gradients.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { readCheckpointTensors } from '../lib/models/safetensors';
import { parseModernBertConfig, presetConfig } from '../lib/models/config';
import { ModernBert } from '../lib/index';
import { assertClose, seededFloats } from './helpers/tensors';
import { embed } from '../lib/models/layers';
import { g, hfMlmFixture } from './helpers/golden';

function loadHfMlm(): ModernBert {
  const { dir, get } = hfMlmFixture();
  const config = parseModernBertConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')));
  return ModernBert.fromTensors(config, get, dir);
}

/** Rows of a [n, L, H] array where mask is 1. */
function pick(data: ArrayLike<number>, mask: Int32Array, H: number): Float32Array {
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) for (let h = 0; h < H; h++) out.push(data[i * H + h]);
  return Float32Array.from(out);
}

describe('ModernBERT vs transformers', () => {
  before(async () => {
    await initBackend();
  });

  it('matches eager last hidden states on every position, sdpa on real tokens', () => {
    const model = loadHfMlm();
    const ids = g('hidden.input_ids');
    const mask = g('hidden.attention_mask').data as Int32Array;
    const [n, L] = ids.shape;
    assert.ok(L > model.config.localAttention / 2 + 1, 'fixture must exceed the local window');
    const h = model.forward(ids.data as Int32Array, mask, n, L);
    const got = h.dataSync();
    assertClose(got, g('hidden.eager').data, 1e-4, 'hidden (eager, all positions)');
    const H = model.config.hiddenSize;
    assertClose(pick(got, mask, H), pick(g('hidden.sdpa').data, mask, H), 1e-4, 'hidden (sdpa, real tokens)');
    h.dispose();
    model.dispose();
  });

  it('matches masked-LM logits', () => {
    const model = loadHfMlm();
    const ids = g('hidden.input_ids');
    const [n, L] = ids.shape;
    const logits = tf.tidy(() => {
      const h = model.forward(ids.data as Int32Array, g('hidden.attention_mask').data as Int32Array, n, L);
      const rows = h.slice([1, 0, 0], [1, 6, model.config.hiddenSize]).reshape([6, model.config.hiddenSize]) as tf.Tensor2D;
      return model.mlmLogits(rows);
    });
    assertClose(logits, g('mlm_logits.eager').data, 1e-4, 'mlm logits');
    logits.dispose();
    model.dispose();
  });

  it('round-trips its state dict in transformers layout', () => {
    const model = loadHfMlm();
    const sd = model.stateDict('model.');
    const { tensors } = readCheckpointTensors(hfMlmFixture().dir);
    for (const [name, t] of tensors) {
      const mine = sd.get(name);
      assert.ok(mine, `state dict lacks ${name}`);
      assert.deepEqual(mine.shape, t.shape, name);
      assertClose(mine.dataSync(), t.data as Float32Array, 0, name);
    }
    sd.forEach((t) => t.dispose());
    model.dispose();
  });

  it('names a missing tensor and a wrong shape', () => {
    const { dir, get: tensor } = hfMlmFixture();
    const config = parseModernBertConfig(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')));
    const get = (skip: string, reshape?: string) => (name: string) => {
      const t = tensor(name);
      if (!t || name === skip) return undefined;
      return { shape: name === reshape ? [t.shape[0] + 1, ...t.shape.slice(1)] : t.shape, data: t.data };
    };
    assert.throws(() => ModernBert.fromTensors(config, get('layers.1.attn.Wqkv.weight'), dir), /missing tensor "layers\.1\.attn\.Wqkv\.weight"/);
    assert.throws(() => ModernBert.fromTensors(config, get('', 'layers.2.mlp.Wo.weight'), dir), /"layers\.2\.mlp\.Wo\.weight" has shape/);
  });
});

describe('ModernBERT training behaviour', () => {
  before(async () => {
    await initBackend();
  });

  it('replays dropout from the seed and differs across seeds', () => {
    const config = { ...presetConfig('tiny')!, vocabSize: 100, embeddingDropout: 0.1, attentionDropout: 0.1, mlpDropout: 0.1 };
    const model = ModernBert.random(config, 3);
    const ids = Int32Array.from({ length: 2 * 9 }, (_, i) => (i * 7) % 100);
    const mask = Int32Array.from({ length: 18 }, (_, i) => (i % 9 < 7 ? 1 : 0));
    const run = (seed: number) => tf.tidy(() => model.forward(ids, mask, 2, 9, { training: true, seed }).dataSync().slice());
    const a = run(5);
    const b = run(5);
    const c = run(6);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const evalOut = tf.tidy(() => model.forward(ids, mask, 2, 9).dataSync().slice());
    assert.notDeepEqual(a, evalOut);
    model.dispose();
  });

  it('embedding lookup has tf.gather\'s gradient (repeated ids accumulate)', () => {
    const table = tf.tensor2d(seededFloats(7 * 3, 2), [7, 3]);
    const ids = Int32Array.from([4, 1, 4, 6, 0, 4]);
    const w = tf.tensor2d(seededFloats(6 * 3, 5), [6, 3]);
    const ours = tf.grad((t: tf.Tensor) => embed(t as tf.Tensor2D, ids).mul(w).sum())(table);
    const ref = tf.grad((t: tf.Tensor) => tf.gather(t, tf.tensor1d(ids, 'int32')).mul(w).sum())(table);
    assertClose(ours, ref, 1e-6, 'embedding gradient');
    assertClose(embed(table, ids), tf.gather(table, tf.tensor1d(ids, 'int32')), 0, 'embedding lookup');
  });

  it('random weights are reproducible for every seed, including 0 (tf treats seed 0 as unseeded)', () => {
    const config = { ...presetConfig('tiny')!, vocabSize: 50 };
    const values = (seed: number) => {
      const m = ModernBert.random(config, seed);
      const out = m.variables().map((v) => v.dataSync().slice());
      m.dispose();
      return out;
    };
    const a = values(0);
    const b = values(0);
    const c = values(1);
    a.forEach((x, i) => assert.deepEqual(x, b[i], `parameter ${i} differs between two random(config, 0)`));
    assert.notDeepEqual(a[0], c[0], 'seed 0 and seed 1 give the same token embeddings');
  });

  it('has gradients for every backbone parameter', () => {
    const config = { ...presetConfig('tiny')!, vocabSize: 50 };
    const model = ModernBert.random(config, 1);
    const ids = Int32Array.from({ length: 12 }, (_, i) => i + 1);
    const mask = new Int32Array(12).fill(1);
    const { value, grads } = tf.variableGrads(() => model.forward(ids, mask, 2, 6).square().mean() as tf.Scalar, model.variables());
    assert.ok(Number.isFinite(value.dataSync()[0]));
    for (const v of model.variables()) {
      const g = grads[v.name];
      assert.ok(g, `no gradient for ${v.name}`);
      assert.ok(Number.isFinite(g.abs().sum().dataSync()[0]), `non-finite gradient for ${v.name}`);
    }
    const embGrad = grads[model.params.get('embeddings.tok_embeddings.weight')!.name].abs().sum().dataSync()[0];
    assert.ok(embGrad > 0);
    tf.dispose([value, ...Object.values(grads)]);
    model.dispose();
  });
});
