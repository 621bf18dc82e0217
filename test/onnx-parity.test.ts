/**
 * ModernBERT on ONNX Runtime (lib/models/onnx) against transformers, PyLate and sentence-transformers
 * (the committed golden fixtures) and against the tfjs models, at float32 to ≤ 1e-4: last hidden states
 * with global and sliding layers and padding, ColBERT token embeddings (documents longer than the local
 * window, prompts, [MASK] query expansion attended or not, no expansion), MaxSim scores through encode(),
 * truncated long texts, dense mean pooling with and without prompt, CLS pooling; dynamic batch and length.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { readBackboneConfig } from '../lib/models/backbone-io';
import { ColbertModel } from '../lib/models/colbert';
import { DenseModel } from '../lib/models/dense';
import { buildModernBertOnnx } from '../lib/models/onnx/modernbert-onnx';
import { OrtEncoder } from '../lib/models/onnx/ort-encoder';
import { loadEncoder } from '../lib/models/engine';
import { createSession, int64Tensor } from '../lib/backend/ort';
import { colbertScores } from '../lib/scores';
import { assertClose } from './helpers/tensors';
import { FIX, g, goldenBatch, hfMlmFixture, meta, scored } from './helpers/golden';
import { tmpDir } from './helpers/tmp';

/** A private copy of a fixture folder (model.onnx is written beside the checkpoint). */
const tmpDirs: string[] = [];
function copyFixture(name: string): string {
  const dir = path.join(tmpDir('onnx'), name);
  fs.cpSync(path.join(FIX, name), dir, { recursive: true });
  tmpDirs.push(path.dirname(dir));
  return dir;
}
after(() => tmpDirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('ModernBERT graph vs transformers (hidden states)', () => {
  before(async () => {
    await initBackend();
  });

  it('matches eager last hidden states on every position (global + sliding layers, padding)', async () => {
    const { dir, get } = hfMlmFixture();
    const config = readBackboneConfig(dir);
    assert.ok(config.layerTypes.includes('sliding_attention') && config.layerTypes.includes('full_attention'));
    const bytes = buildModernBertOnnx(config, get, { kind: 'hidden' }, dir);
    const session = await createSession(bytes, 'hf-mlm graph', { threads: 1 });
    const ids = g('hidden.input_ids');
    const mask = g('hidden.attention_mask').data as Int32Array;
    const [n, L] = ids.shape;
    assert.ok(L > config.localAttention / 2 + 1, 'fixture must exceed the local window');
    assert.ok(mask.some((m) => m === 0), 'fixture must have padding');
    const out = await session.run({ input_ids: int64Tensor(ids.data as Int32Array, [n, L]), attention_mask: int64Tensor(mask, [n, L]) });
    assert.deepEqual(out.hidden.dims, [n, L, config.hiddenSize]);
    assertClose(out.hidden.data as Float32Array, g('hidden.eager').data, 1e-4, 'hidden (eager, all positions)');
    // Dynamic shapes: a sub-batch at a shorter length gives the same rows as the model at that length.
    const sub = await session.run({ input_ids: int64Tensor((ids.data as Int32Array).slice(0, L), [1, L]), attention_mask: int64Tensor(mask.slice(0, L), [1, L]) });
    assertClose(sub.hidden.data as Float32Array, (g('hidden.eager').data as Float32Array).slice(0, L * config.hiddenSize), 1e-4, 'hidden (batch of one)');
    await session.release();
  });

  it('names a missing or misshapen tensor', () => {
    const { dir, get } = hfMlmFixture();
    const config = readBackboneConfig(dir);
    assert.throws(() => buildModernBertOnnx(config, (n) => (n === 'layers.1.mlp.Wo.weight' ? undefined : get(n)), { kind: 'hidden' }, 'x.safetensors'), /x\.safetensors: missing tensor "layers\.1\.mlp\.Wo\.weight"/);
    assert.throws(() => buildModernBertOnnx(config, (n) => (n === 'final_norm.weight' ? { shape: [3], data: new Float32Array(3) } : get(n)), { kind: 'hidden' }, 'x.safetensors'), /tensor "final_norm\.weight" has shape \[3\]/);
  });
});

describe('ColBERT on ONNX Runtime vs PyLate and tfjs', () => {
  let dir: string;
  let ort: OrtEncoder;
  let tfjs: ColbertModel;
  before(async () => {
    await initBackend();
    dir = copyFixture('colbert');
    ort = await OrtEncoder.open(dir, { threads: 2 });
    tfjs = await ColbertModel.fromPretrained(dir);
  });
  after(() => {
    ort?.dispose();
    tfjs?.dispose();
  });

  async function check(prefix: string, enc = ort, model = tfjs) {
    const want = goldenBatch(prefix);
    const got = await enc.run(want);
    assertClose(scored(got, want.scoringMask, enc.dim), scored(g(`${prefix}.embeddings`).data, want.scoringMask, enc.dim), 1e-4, `${prefix}: vs PyLate`);
    const ref = model.forward(want, { training: false });
    assertClose(got, ref.embeddings.dataSync(), 1e-4, `${prefix}: vs tfjs (every position)`);
    tf.dispose([ref.embeddings, ref.mask!]);
  }

  it('built model.onnx beside the checkpoint', () => {
    assert.equal(ort.built, true);
    assert.ok(fs.existsSync(path.join(dir, 'model.onnx')));
    assert.equal(ort.kind, 'colbert');
    assert.equal(ort.dim, 16);
  });

  it('query and document token embeddings (documents longer than the local window)', async () => {
    assert.ok(g('colbert.document.input_ids').shape[1] > tfjs.backbone.config.localAttention / 2 + 1);
    await check('colbert.query');
    await check('colbert.document');
    await check('colbert.query_prompt');
    await check('colbert.document_prompt');
  });

  it('without query expansion, and attending to the [MASK] expansion tokens', async () => {
    await check('colbert.query_noexpansion');
    await check('colbert.query_attend');
  });

  it('tokenizes as the tfjs model does, with the folder overrides', async () => {
    const attend = await OrtEncoder.open(dir, { threads: 1, colbert: { overrides: { attend_to_expansion_tokens: true } } });
    assert.equal(attend.built, false, 'the cached model.onnx is reused: overrides change tokenization only');
    const tok = attend.tokenize(meta('queries'), 'query');
    const ref = (await ColbertModel.fromPretrained(dir, { overrides: { attend_to_expansion_tokens: true } }));
    assert.deepEqual(tok, ref.tokenize(meta('queries'), 'query'));
    ref.dispose();
    attend.dispose();
  });

  it('encode() batches, reorders and gives PyLate MaxSim scores', async () => {
    const noPrompt = await OrtEncoder.open(dir, { threads: 1, colbert: { overrides: { prompts: {} } } });
    const q = await noPrompt.encode(meta('queries'), 'query', { batchSize: 2 });
    const d = await noPrompt.encode(meta('documents'), 'document', { batchSize: 2 });
    const s = colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);
    assertClose(s, g('colbert.scores').data, 1e-4, 'MaxSim scores');
    tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);
    noPrompt.dispose();
  });

  it('truncates long texts exactly as the tfjs model, batch by batch', async () => {
    const long = Array.from({ length: 80 }, (_, i) => `word${i % 17} token${i % 5}`).join(' ');
    const texts = [long, 'short text', `${long} and more`, 'a'];
    const a = await ort.encode(texts, 'document', { batchSize: 3 });
    const b = await tfjs.encode(texts, 'document', { batchSize: 3 });
    assert.deepEqual(a.embeddings.shape, b.embeddings.shape);
    assert.equal(a.embeddings.shape[1], tfjs.tokenizer.config.document_length);
    assertClose(a.embeddings, b.embeddings, 1e-4, 'truncated documents');
    assert.deepEqual(Array.from(a.mask!.dataSync()), Array.from(b.mask!.dataSync()));
    tf.dispose([a.embeddings, a.mask!, b.embeddings, b.mask!]);
  });

  it('a plain ModernBERT folder becomes the same ColBERT model as in tfjs (markers added, projection seeded)', async () => {
    const plain = copyFixture('hf-mlm');
    const enc = await OrtEncoder.open(plain, { threads: 1, fallback: 'colbert', colbert: { embeddingSize: 8, seed: 1 } });
    const ref = await ColbertModel.fromPretrained(plain, { embeddingSize: 8, seed: 1 });
    const texts = ['hello world', 'late interaction retrieval with many tokens'];
    const a = await enc.encode(texts, 'query');
    const b = await ref.encode(texts, 'query');
    assert.deepEqual(a.embeddings.shape, [2, 32, 8]);
    assertClose(a.embeddings, b.embeddings, 1e-4, 'plain folder as ColBERT');
    tf.dispose([a.embeddings, a.mask!, b.embeddings, b.mask!]);
    enc.dispose();
    ref.dispose();
  });

  it('a model in memory (training weights) evaluates on ORT with the same numbers (loadEncoder of a model)', async () => {
    const onOrt = await loadEncoder(tfjs, { engine: 'ort' });
    assert.ok(onOrt instanceof OrtEncoder);
    const onTfjs = await loadEncoder(tfjs, { engine: 'tfjs' });
    // On tfjs the model itself encodes (no copy, no graph), and disposing the view leaves the model alone.
    assert.ok(!(onTfjs instanceof OrtEncoder));
    assert.equal(onTfjs.engine, 'tfjs');
    const texts = meta('documents');
    const a = await onOrt.encode(texts, 'document');
    const b = await tfjs.encode(texts, 'document');
    assertClose(a.embeddings, b.embeddings, 1e-4, 'in-memory graph vs tfjs');
    tf.dispose([a.embeddings, a.mask!, b.embeddings, b.mask!]);
    onOrt.dispose();
    onTfjs.dispose();
  });

  it('rejects token ids outside the vocabulary by name', async () => {
    const bad = goldenBatch('colbert.query');
    const ids = Int32Array.from(bad.inputIds);
    ids[3] = 100000;
    await assert.rejects(ort.run({ ...bad, inputIds: ids }), /token id 100000 is outside the model's vocabulary \(vocab_size 383\)/);
  });
});

describe("expansion tokens: scored (eager attention) or zeroed (Flash Attention's zeros, the paper's)", () => {
  before(async () => {
    await initBackend();
  });

  it('tfjs and ort agree for both settings; zeroed scores are MaxSim over the real query tokens only, scored the golden PyLate scores', async () => {
    const dir = copyFixture('colbert');
    const queries = meta('queries');
    const documents = meta('documents');
    const scores: Record<string, Float32Array> = {};
    let realOnly: Float32Array | null = null;
    let noExpansion: Float32Array | null = null;
    for (const setting of ['scored', 'zeroed'] as const) {
      const overrides = { prompts: {}, expansion_tokens: setting };
      const ort = await OrtEncoder.open(dir, { threads: 1, colbert: { overrides } });
      const ref = await ColbertModel.fromPretrained(dir, { overrides });
      assert.equal(ref.tokenizer.config.expansion_tokens, setting);
      // One batch, every position: the same embeddings and mask from both engines.
      const batch = ref.tokenize(queries, 'query');
      assert.deepEqual(ort.tokenize(queries, 'query'), batch);
      assert.ok(batch.attentionMask.some((m) => m === 0), 'the queries have unattended [MASK] expansion tokens');
      const a = await ort.forward(batch);
      const b = ref.forward(batch);
      assertClose(a.embeddings, b.embeddings, 1e-4, `${setting}: ort vs tfjs forward (every position)`);
      assert.deepEqual(Array.from(a.mask!.dataSync()), Array.from(b.mask!.dataSync()));
      const emb = b.embeddings.dataSync();
      const dim = ref.dim;
      batch.attentionMask.forEach((m, t) => {
        const norm = Math.hypot(...emb.subarray(t * dim, (t + 1) * dim));
        if (m === 0 && setting === 'zeroed') assert.equal(norm, 0, `zeroed: position ${t} (attention 0) is a zero vector`);
        else assert.ok(Math.abs(norm - 1) < 1e-4, `${setting}: position ${t} is a unit vector`);
      });
      assert.deepEqual(Array.from(b.mask!.dataSync()), setting === 'zeroed' ? Array.from(batch.attentionMask) : new Array(batch.n * batch.length).fill(1));
      // Scores through encode() on each engine.
      const s: tf.Tensor[] = [];
      for (const enc of [ort, ref]) {
        const q = await enc.encode(queries, 'query', { batchSize: 2 });
        const d = await enc.encode(documents, 'document', { batchSize: 2 });
        s.push(colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask));
        if (setting === 'scored' && enc === ref) {
          // MaxSim over the real (attended) query tokens only, from the scored embeddings.
          const full = ref.forward(batch);
          const att = tf.tensor2d(Float32Array.from(batch.attentionMask), [batch.n, batch.length]);
          const r = colbertScores(full.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, att, d.mask);
          realOnly = r.dataSync() as Float32Array;
          tf.dispose([full.embeddings, full.mask!, att, r]);
        }
        tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!]);
      }
      assertClose(s[0], s[1], 1e-4, `${setting}: ort vs tfjs MaxSim scores`);
      scores[setting] = s[1].dataSync() as Float32Array;
      tf.dispose([a.embeddings, a.mask!, b.embeddings, b.mask!, ...s]);
      ort.dispose();
      ref.dispose();
    }
    // PyLate without query expansion scores the real tokens only too.
    const noExp = await ColbertModel.fromPretrained(dir, { overrides: { prompts: {}, do_query_expansion: false } });
    const q = await noExp.encode(queries, 'query');
    const d = await noExp.encode(documents, 'document');
    const s = colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);
    noExpansion = s.dataSync() as Float32Array;
    tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);
    noExp.dispose();

    assertClose(scores.scored, g('colbert.scores').data, 1e-4, 'scored: the golden PyLate (eager) scores');
    assertClose(scores.zeroed, realOnly!, 1e-5, 'zeroed: MaxSim over the real query tokens only');
    assertClose(scores.zeroed, noExpansion, 1e-4, 'zeroed: the scores without query expansion');
    const gap = Math.max(...scores.scored.map((x, i) => Math.abs(x - scores.zeroed[i])));
    assert.ok(gap > 1e-2, `the expansion tokens change the scores (largest difference ${gap})`);
  });
});

describe('dense model on ONNX Runtime vs sentence-transformers and tfjs', () => {
  before(async () => {
    await initBackend();
  });

  it('mean-pooled, normalised embeddings with and without prompt', async () => {
    const dir = copyFixture('dense');
    const enc = await OrtEncoder.open(dir, { threads: 2 });
    assert.equal(enc.kind, 'dense');
    const ref = await DenseModel.fromPretrained(dir);
    const tok = ref.tokenizer.tokenize(meta('dense_texts'), 'document', { prompt: null });
    assertClose(await enc.run(tok), g('dense.embeddings').data, 1e-4, 'dense embeddings');
    const q = await enc.encode(meta('queries'), 'query');
    assertClose(q.embeddings, g('dense.query_prompt').data, 1e-4, 'dense query embeddings with prompt');
    const r = await ref.encode(meta('dense_texts'), 'document', { batchSize: 4 });
    const e = await enc.encode(meta('dense_texts'), 'document', { batchSize: 4 });
    assertClose(e.embeddings, r.embeddings, 1e-4, 'dense encode vs tfjs');
    tf.dispose([q.embeddings, r.embeddings, e.embeddings]);
    enc.dispose();
    ref.dispose();
  });

  it('CLS pooling without normalisation', async () => {
    const dir = copyFixture('dense');
    const pc = path.join(dir, '1_Pooling', 'config.json');
    const cfg = JSON.parse(fs.readFileSync(pc, 'utf8'));
    fs.writeFileSync(pc, JSON.stringify({ ...cfg, pooling_mode_mean_tokens: false, pooling_mode_cls_token: true }));
    const modules = JSON.parse(fs.readFileSync(path.join(dir, 'modules.json'), 'utf8')) as { type: string }[];
    fs.writeFileSync(path.join(dir, 'modules.json'), JSON.stringify(modules.filter((m) => !m.type.endsWith('Normalize'))));
    const enc = await OrtEncoder.open(dir, { threads: 1 });
    const ref = await DenseModel.fromPretrained(dir);
    assert.equal(ref.settings.pooling, 'cls');
    assert.equal(ref.settings.normalize, false);
    const a = await enc.encode(meta('dense_texts'), 'document');
    const b = await ref.encode(meta('dense_texts'), 'document');
    assertClose(a.embeddings, b.embeddings, 1e-4, 'CLS pooling');
    const norms = Array.from(a.embeddings.square().sum(1).sqrt().dataSync() as Float32Array);
    assert.ok(norms.some((v) => Math.abs(v - 1) > 1e-3), 'not normalised');
    tf.dispose([a.embeddings, b.embeddings]);
    enc.dispose();
    ref.dispose();
  });
});
