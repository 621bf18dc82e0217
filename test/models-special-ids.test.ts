/**
 * A model created or saved with a tokenizer names that tokenizer's special-token ids in config.json, not
 * ModernBERT's (50281–50283), which lie outside a smaller vocabulary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { initBackend } from '../lib/index';
import { ColbertModel } from '../lib/index';
import { DenseModel } from '../lib/index';
import { writeBackbone } from '../lib/models/backbone-io';
import { presetConfig, withTokenizerIds } from '../lib/models/config';
import { ModernBert } from '../lib/index';
import { TextTokenizer } from '../lib/index';
import { tinyTokenizerFiles } from '../lib/tokenize/tiny';
import { tmpDir } from './helpers/tmp';

const VOCAB = 2000;

function tokenizer(): TextTokenizer {
  return new TextTokenizer(tinyTokenizerFiles({ vocabSize: VOCAB }).files, 'built-in tiny tokenizer');
}

function savedIds(dir: string): Record<string, number> {
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  return { pad: c.pad_token_id, cls: c.cls_token_id, sep: c.sep_token_id, bos: c.bos_token_id, eos: c.eos_token_id, vocab: c.vocab_size };
}

function expectTokenizerIds(ids: Record<string, number>, text: TextTokenizer): void {
  assert.deepEqual(
    { pad: ids.pad, cls: ids.cls, sep: ids.sep, bos: ids.bos, eos: ids.eos },
    // The BERT-style vocabulary has no [BOS]/[EOS]: they fall back to [CLS]/[SEP], as in ModernBERT's config.
    { pad: text.padId, cls: text.clsId, sep: text.sepId, bos: text.clsId, eos: text.sepId },
  );
  for (const k of ['pad', 'cls', 'sep', 'bos', 'eos']) assert.ok(ids[k] >= 0 && ids[k] < ids.vocab, `${k}_token_id ${ids[k]} outside vocab_size ${ids.vocab}`);
}

describe('special-token ids follow the tokenizer', () => {
  before(async () => {
    await initBackend();
  });

  const config = { ...presetConfig('tiny')!, vocabSize: VOCAB };

  it('the tiny tokenizer really differs from ModernBERT\'s ids (so the checks below can fail)', () => {
    const text = tokenizer();
    assert.equal(config.padTokenId, 50283);
    assert.notEqual(text.padId, config.padTokenId);
    assert.ok(text.padId !== null && text.clsId !== null && text.sepId !== null);
  });

  it('ColbertModel.create and save', async () => {
    const text = tokenizer();
    const model = ColbertModel.create(config, text, { embeddingSize: 8, seed: 1 });
    assert.equal(model.backbone.config.padTokenId, text.padId);
    const dir = path.join(tmpDir('ids'), 'colbert');
    await model.save(dir);
    model.dispose();
    expectTokenizerIds(savedIds(dir), text);
  });

  it('DenseModel.create and save', async () => {
    const text = tokenizer();
    const model = DenseModel.create(config, text, { seed: 1 });
    const dir = path.join(tmpDir('ids'), 'dense');
    await model.save(dir);
    model.dispose();
    expectTokenizerIds(savedIds(dir), text);
  });

  it('writeBackbone with a tokenizer rewrites the ids of a model created without one', () => {
    const text = tokenizer();
    const model = ModernBert.random(config, 2);
    const dir = tmpDir('ids');
    writeBackbone(dir, model, { mlm: true, tokenizer: text });
    model.dispose();
    expectTokenizerIds(savedIds(dir), text);
  });

  it('withTokenizerIds keeps the config\'s id where the tokenizer has no such token', () => {
    const c = withTokenizerIds(config, { padId: 7, clsId: null, sepId: null, bosId: 3, eosId: null });
    assert.deepEqual([c.padTokenId, c.clsTokenId, c.sepTokenId, c.bosTokenId, c.eosTokenId], [7, 50281, 50282, 3, 50282]);
  });
});
