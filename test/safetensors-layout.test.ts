/**
 * Checkpoint folder layouts: the small files of a folder saved by PyLate itself
 * (test/fixtures/safetensors/pylate_layout/) read here, a Dense module written here loaded by PyLate
 * (ts_dense_check.json), round trips and clear errors. Fixtures: test/reference/make_tokenize_fixtures.py.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  colbertModules, denseModules, inspectCheckpoint, meanPoolingConfig, readDenseLayer, readModelConfig, readModules,
  readPoolingConfig, readSentenceBertConfig, writeDenseLayer, writeModules, writePoolingConfig, writeSentenceBertConfig,
} from '../lib/models/checkpoint-files';
import { writeSafetensors } from '../lib/models/safetensors';
import { readColbertConfig, CONFIG_ST_FILE } from '../lib/tokenize';
import { sampleDense } from './reference/ts_writers';
import { tmpDir } from './helpers/tmp';

const FIX = path.join(__dirname, 'fixtures', 'safetensors');
const LAYOUT = path.join(FIX, 'pylate_layout');
const tmp = tmpDir('layout');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

test('a folder saved by PyLate: modules, sentence_bert_config, ColBERT config and the Dense module read back', () => {
  const info = JSON.parse(fs.readFileSync(path.join(FIX, 'pylate_layout.json'), 'utf8'));
  assert.deepEqual(readModules(LAYOUT), colbertModules(1));
  // PyLate leaves max_seq_length at its last tokenize call's value (here document_length - 1 = 186).
  assert.deepEqual(readSentenceBertConfig(LAYOUT), { max_seq_length: 186, do_lower_case: false });
  const cfg = readColbertConfig(path.join(LAYOUT, CONFIG_ST_FILE));
  assert.deepEqual([cfg.query_length, cfg.document_length, cfg.prompts.query, cfg.extra.similarity_fn_name], [39, 187, 'search_query: ', 'MaxSim']);
  const dense = readDenseLayer(path.join(LAYOUT, '1_Dense'));
  assert.deepEqual(dense.weight.shape, info.dense_weight_shape);
  assert.equal(dense.config.bias, false);
  assert.equal(dense.bias, undefined);
  assert.deepEqual(Array.from(dense.weight.data.subarray(0, dense.weight.shape[1]) as Float32Array), info.dense_weight_row0);
  const sum = (dense.weight.data as Float32Array).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - info.dense_weight_sum) < 1e-5, `sum ${sum} vs ${info.dense_weight_sum}`);
  assert.equal(readModelConfig(LAYOUT).model_type, 'modernbert');
});

test('inspectCheckpoint tells a PyLate folder from a dense one and a bare transformer', () => {
  const colbert = path.join(tmp, 'colbert');
  fs.cpSync(LAYOUT, colbert, { recursive: true });
  assert.throws(() => inspectCheckpoint(colbert), /no model\.safetensors or model\.safetensors\.index\.json/);
  writeSafetensors(path.join(colbert, 'model.safetensors'), { x: { shape: [1], data: new Float32Array(1) } });
  const c = inspectCheckpoint(colbert);
  assert.deepEqual([c.kind, c.denseDirs, c.poolingDir, c.normalize, c.hasTokenizer], ['colbert', [path.join(colbert, '1_Dense')], null, false, false]);

  const dense = path.join(tmp, 'dense');
  fs.mkdirSync(dense);
  fs.copyFileSync(path.join(LAYOUT, 'config.json'), path.join(dense, 'config.json'));
  writeSafetensors(path.join(dense, 'model.safetensors'), { x: { shape: [1], data: new Float32Array(1) } });
  assert.equal(inspectCheckpoint(dense).kind, 'transformer');
  writeModules(dense, denseModules());
  writePoolingConfig(path.join(dense, '1_Pooling'), meanPoolingConfig(16));
  const d = inspectCheckpoint(dense);
  assert.deepEqual([d.kind, d.poolingDir, d.normalize], ['dense', path.join(dense, '1_Pooling'), true]);
  assert.deepEqual(readPoolingConfig(d.poolingDir!), meanPoolingConfig(16));
});

test('a Dense module written here is what PyLate loads (weights and output)', () => {
  const check = JSON.parse(fs.readFileSync(path.join(FIX, 'ts_dense_check.json'), 'utf8'));
  const s = sampleDense();
  assert.deepEqual([check.in_features, check.out_features, check.bias], [4, 3, true]);
  assert.deepEqual(check.weight.flat(), Array.from(s.weight.data));
  // y = W x + b with x = [0, .25, .5, .75], computed here from the same tensors.
  const x = [0, 0.25, 0.5, 0.75];
  const y = [0, 1, 2].map((i) => x.reduce((acc, xj, j) => acc + s.weight.data[i * 4 + j] * xj, s.bias.data[i]));
  y.forEach((v, i) => assert.ok(Math.abs(v - check.y[i]) < 1e-6, `y[${i}] ${v} vs ${check.y[i]}`));
  const dir = path.join(tmp, 'dense_rt');
  writeDenseLayer(dir, s);
  const back = readDenseLayer(dir);
  assert.deepEqual(back.config, s.config);
  assert.deepEqual(Array.from(back.bias!.data as Float32Array), Array.from(s.bias.data));
});

test('layout files with wrong content give errors naming the file', () => {
  const dir = path.join(tmp, 'bad');
  fs.mkdirSync(path.join(dir, '1_Dense'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'modules.json'), '{"not": "a list"}');
  assert.throws(() => readModules(dir), /modules\.json: expected a list of modules/);
  fs.writeFileSync(path.join(dir, 'modules.json'), '[{"type": "x", "path": "../../etc"}]');
  assert.throws(() => readModules(dir), /leaves the model folder/);
  fs.writeFileSync(path.join(dir, 'sentence_bert_config.json'), '{"max_seq_length": "512"}');
  assert.throws(() => readSentenceBertConfig(dir), /sentence_bert_config\.json: max_seq_length must be a positive integer/);
  writeSentenceBertConfig(dir, { max_seq_length: 519, do_lower_case: false });
  assert.deepEqual(readSentenceBertConfig(dir), { max_seq_length: 519, do_lower_case: false });
  const d = path.join(dir, '1_Dense');
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ in_features: 4, out_features: 2, bias: false }));
  writeSafetensors(path.join(d, 'model.safetensors'), { 'linear.weight': { shape: [2, 3], data: new Float32Array(6) } });
  assert.throws(() => readDenseLayer(d), /1_Dense.model\.safetensors: tensor "linear\.weight" has shape \[2,3\], config says \[2,4\]/);
  assert.throws(() => writeDenseLayer(d, { ...sampleDense(), bias: undefined }), /config has bias but no bias tensor/);
  fs.writeFileSync(path.join(d, 'config.json'), '{');
  assert.throws(() => readDenseLayer(d), /1_Dense.config\.json: invalid JSON/);
});
