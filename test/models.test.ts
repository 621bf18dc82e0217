/**
 * ColBERT and dense heads against PyLate and sentence-transformers (fixtures from
 * test/reference/make_model_fixtures.py): token ids, token embeddings with and without prompts and
 * query expansion, MaxSim scores, dense embeddings; save → PyLate layout → reload; clear load errors.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/index';
import { readSafetensors } from '../lib/models/safetensors';
import { ColbertModel } from '../lib/index';
import { DenseModel } from '../lib/index';
import { colbertScores } from '../lib/index';
import { assertClose } from './helpers/tensors';
import { FIX, g, goldenBatch, meta, scored } from './helpers/golden';
import { tmpDir } from './helpers/tmp';

async function checkColbert(model: ColbertModel, prefix: string, texts: string[], role: 'query' | 'document', prompt?: boolean) {
  const want = goldenBatch(prefix);
  // Tokenization (lib/tokenize) reproduces PyLate's ids and masks.
  const tok = prompt === undefined ? model.tokenize(texts, role) : model.tokenizer.tokenize(texts, role, prompt ? {} : { prompt: null });
  assert.deepEqual([tok.n, tok.length], [want.n, want.length], `${prefix}: batch shape`);
  assert.deepEqual(Array.from(tok.inputIds), Array.from(want.inputIds), `${prefix}: input ids`);
  assert.deepEqual(Array.from(tok.attentionMask), Array.from(want.attentionMask), `${prefix}: attention mask`);
  assert.deepEqual(Array.from(tok.scoringMask), Array.from(want.scoringMask), `${prefix}: scoring mask`);
  // The model on PyLate's own ids.
  const out = model.forward(want, { training: false });
  const wantEmb = g(`${prefix}.embeddings`).data;
  assertClose(scored(out.embeddings.dataSync(), want.scoringMask, model.dim), scored(wantEmb, want.scoringMask, model.dim), 1e-4, `${prefix}: embeddings`);
  tf.dispose([out.embeddings, out.mask!]);
}

describe('ColBERT vs PyLate', () => {
  let model: ColbertModel;
  before(async () => {
    await initBackend();
    model = await ColbertModel.fromPretrained(path.join(FIX, 'colbert'));
  });

  it('reads PyLate settings and sizes', () => {
    assert.equal(model.dim, 16);
    assert.equal(model.tokenizer.config.query_length, 12);
    assert.equal(model.tokenizer.config.document_length, 24);
    assert.equal(model.backbone.config.vocabSize, 383);
  });

  it('matches query and document token embeddings (local window shorter than documents)', async () => {
    assert.ok(g('colbert.document.input_ids').shape[1] > model.backbone.config.localAttention / 2 + 1);
    await checkColbert(model, 'colbert.query', meta('queries'), 'query', false);
    await checkColbert(model, 'colbert.document', meta('documents'), 'document', false);
  });

  it('matches with prompts', async () => {
    await checkColbert(model, 'colbert.query_prompt', meta('queries'), 'query', true);
    await checkColbert(model, 'colbert.document_prompt', meta('documents'), 'document', true);
  });

  it('matches without query expansion and when attending to expansion tokens', async () => {
    const noexp = await ColbertModel.fromPretrained(path.join(FIX, 'colbert'), { overrides: { do_query_expansion: false } });
    await checkColbert(noexp, 'colbert.query_noexpansion', meta('queries'), 'query', false);
    noexp.dispose();
    const attend = await ColbertModel.fromPretrained(path.join(FIX, 'colbert'), { overrides: { attend_to_expansion_tokens: true } });
    await checkColbert(attend, 'colbert.query_attend', meta('queries'), 'query', false);
    attend.dispose();
  });

  it('encode() batches, reorders and gives PyLate MaxSim scores', async () => {
    let progress = 0;
    const noPrompt = await ColbertModel.fromPretrained(path.join(FIX, 'colbert'), { overrides: { prompts: {} } });
    const q = await noPrompt.encode(meta('queries'), 'query', { batchSize: 2, onProgress: (d) => (progress = d) });
    const d = await noPrompt.encode(meta('documents'), 'document', { batchSize: 2 });
    assert.equal(progress, 3);
    const s = colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);
    assertClose(s, g('colbert.scores').data, 1e-4, 'MaxSim scores');
    tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);
    noPrompt.dispose();
  });

  it('saves the PyLate layout and reloads to identical outputs', async () => {
    const out = tmpDir('colbert');
    const dir = path.join(out, 'model');
    await model.save(dir);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'modules.json', 'sentence_bert_config.json', 'config_sentence_transformers.json', '1_Dense/config.json', '1_Dense/model.safetensors']) {
      assert.ok(fs.existsSync(path.join(dir, f)), `missing ${f}`);
    }
    const read = (d: string, f: string) => JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'));
    assert.deepEqual(read(dir, 'modules.json'), read(path.join(FIX, 'colbert'), 'modules.json'));
    assert.deepEqual(read(dir, '1_Dense/config.json'), read(path.join(FIX, 'colbert'), '1_Dense/config.json'));
    const names = (d: string) => [...readSafetensors(path.join(d, 'model.safetensors')).tensors.keys()].sort();
    assert.deepEqual(names(dir), names(path.join(FIX, 'colbert')));
    const again = await ColbertModel.fromPretrained(dir);
    await checkColbert(again, 'colbert.document', meta('documents'), 'document', false);
    again.dispose();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('builds a ColBERT model from a plain ModernBERT checkpoint as PyLate does (markers added, embeddings grown)', async () => {
    const m = await ColbertModel.fromPretrained(path.join(FIX, 'hf-mlm'), { embeddingSize: 8, seed: 1 });
    assert.equal(m.backbone.config.vocabSize, 383);
    assert.equal(m.dim, 8);
    const q = m.forward(m.tokenize(['hello'], 'query'), { training: false });
    assert.deepEqual(q.embeddings.shape, [1, 32, 8]);
    tf.dispose([q.embeddings, q.mask!]);
    m.dispose();
  });
});

describe('dense model vs sentence-transformers', () => {
  before(async () => {
    await initBackend();
  });

  it('matches mean-pooled, normalised embeddings, with and without prompt', async () => {
    const model = await DenseModel.fromPretrained(path.join(FIX, 'dense'));
    const texts = meta('dense_texts');
    const tok = model.tokenizer.tokenize(texts, 'document', { prompt: null });
    assert.deepEqual(Array.from(tok.inputIds), Array.from(g('dense.input_ids').data), 'dense input ids');
    const e = await model.encode(texts, 'document', { batchSize: 3 });
    // The fixture's document prompt exists; sentence-transformers' plain encode uses none.
    const plain = model.forward(tok, { training: false });
    assertClose(plain.embeddings, g('dense.embeddings').data, 1e-4, 'dense embeddings');
    const q = await model.encode(meta('queries'), 'query');
    assertClose(q.embeddings, g('dense.query_prompt').data, 1e-4, 'dense query embeddings with prompt');
    tf.dispose([e.embeddings, plain.embeddings, q.embeddings]);
    model.dispose();
  });

  it('mean-pools a plain ModernBERT checkpoint (no modules.json)', async () => {
    const model = await DenseModel.fromPretrained(path.join(FIX, 'hf-mlm'));
    assert.equal(model.settings.pooling, 'mean');
    assert.equal(model.settings.normalize, true);
    const e = await model.encode(['hello world', 'a'], 'document');
    assert.deepEqual(e.embeddings.shape, [2, 32]);
    const norms = e.embeddings.square().sum(1).sqrt().dataSync();
    for (const v of norms) assert.ok(Math.abs(v - 1) < 1e-5);
    e.embeddings.dispose();
    model.dispose();
  });

  it('saves the sentence-transformers layout and reloads', async () => {
    const model = await DenseModel.fromPretrained(path.join(FIX, 'dense'));
    const out = tmpDir('dense');
    await model.save(path.join(out, 'm'));
    const read = (d: string, f: string) => JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'));
    assert.deepEqual(read(path.join(out, 'm'), 'modules.json'), read(path.join(FIX, 'dense'), 'modules.json'));
    assert.deepEqual(read(path.join(out, 'm'), '1_Pooling/config.json'), read(path.join(FIX, 'dense'), '1_Pooling/config.json'));
    const again = await DenseModel.fromPretrained(path.join(out, 'm'));
    const tok = again.tokenizer.tokenize(meta('dense_texts'), 'document', { prompt: null });
    const e = again.forward(tok, { training: false });
    assertClose(e.embeddings, g('dense.embeddings').data, 1e-4, 'dense embeddings after save');
    e.embeddings.dispose();
    again.dispose();
    model.dispose();
    fs.rmSync(out, { recursive: true, force: true });
  });
});

describe('load errors name the file and the problem', () => {
  const copy = (from: string) => {
    const dir = tmpDir('bad');
    fs.cpSync(path.join(FIX, from), dir, { recursive: true });
    return dir;
  };
  before(async () => {
    await initBackend();
  });

  it('unknown architecture', async () => {
    const dir = copy('colbert');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.architectures = ['BertModel'];
    cfg.model_type = 'bert';
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(ColbertModel.fromPretrained(dir), /config\.json: unknown architecture \["BertModel"\]/);
    fs.rmSync(dir, { recursive: true });
  });

  it('tokenizer and vocabulary disagree', async () => {
    const dir = copy('colbert');
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    cfg.vocab_size = 381;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    await assert.rejects(ColbertModel.fromPretrained(dir), /tensor "embeddings\.tok_embeddings\.weight" has shape \[383,32\]/);
    fs.rmSync(dir, { recursive: true });
  });

  it('tokenizer larger than the vocabulary', async () => {
    const dir = copy('colbert');
    const tj = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8'));
    tj.added_tokens.push({ id: 383, content: '[EXTRA]', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tj));
    await assert.rejects(ColbertModel.fromPretrained(dir), /tokenizer has 384 tokens but config\.json vocab_size is 383/);
    fs.rmSync(dir, { recursive: true });
  });

  it('missing projection weights', async () => {
    const dir = copy('colbert');
    fs.rmSync(path.join(dir, '1_Dense', 'model.safetensors'));
    await assert.rejects(ColbertModel.fromPretrained(dir), /1_Dense\/model\.safetensors: not found/);
    fs.rmSync(dir, { recursive: true });
  });
});
