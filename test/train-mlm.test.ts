/** Masked-LM pre-training of a tiny ModernBERT: learns, saves as ModernBertForMaskedLM, 2 devices = 1. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/index';
import { parseTrainConfig, resolvePaths } from '../lib/train/config';
import { probeGradient, runReplica } from '../lib/train/run';
import { probeOnDevices } from '../lib/train/devices/pool';
import { readSafetensorsHeader } from '../lib/models/safetensors';
import { tmpDir, writeData } from './train-helpers/fixtures';
import { maxRelError } from './helpers/tensors';

before(async () => {
  await initBackend();
});

function config(dir: string, over: Record<string, unknown> = {}) {
  const raw = {
    model: { type: 'modernbert', preset: 'tiny', vocabSize: 2000, documentLength: 16 },
    head: 'dense',
    phase: 'mlm',
    data: { sources: [writeData(dir, 'mlm', 8)] },
    batchSize: 8,
    miniBatch: 4,
    optimizer: { lr: 3e-3 },
    steps: 4,
    output: 'out',
    ...over,
  };
  return resolvePaths(parseTrainConfig(raw, 'test'), dir);
}

test('MLM: the loss starts near ln(vocab), falls on repeated data, and the model saves with its head', async () => {
  const dir = tmpDir('mlm');
  const cfg = config(dir);
  await runReplica(cfg);
  const log = fs.readFileSync(path.join(cfg.output, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(Math.abs(log[0].loss - Math.log(2000)) < 0.5, `first loss ${log[0].loss}`);
  assert.ok(log[3].loss < log[0].loss - 0.2, `loss ${log[0].loss} → ${log[3].loss}`);
  const hf = JSON.parse(fs.readFileSync(path.join(cfg.output, 'model', 'config.json'), 'utf8'));
  assert.deepEqual(hf.architectures, ['ModernBertForMaskedLM']);
  const names = [...readSafetensorsHeader(path.join(cfg.output, 'model', 'model.safetensors')).entries.keys()];
  for (const n of ['head.dense.weight', 'head.norm.weight', 'model.embeddings.tok_embeddings.weight']) assert.ok(names.includes(n), `${n} in ${names.slice(0, 5)}…`);
});

test('MLM: 2 devices give the gradient of 1 device; mini-batches are exact accumulation', async () => {
  const cfg = config(tmpDir('mlm-dev'));
  const one = await probeGradient(cfg);
  const two = await probeOnDevices(cfg, 2);
  assert.ok(maxRelError(two.gradient, one.gradient) <= 1e-5, `2 vs 1: ${maxRelError(two.gradient, one.gradient)}`);
  const plain = await probeGradient(cfg, undefined, { plain: true });
  assert.ok(maxRelError(one.gradient, plain.gradient) <= 1e-5, `mini-batches vs one: ${maxRelError(one.gradient, plain.gradient)}`);
});
