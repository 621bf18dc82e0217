/**
 * Parallelism has limits: never more workers than batches, one warning line above the core count, and a
 * refusal (with the estimate) before starting when the workers cannot fit in memory.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from './helpers/cli';
import { encodeWorkerBytes, memoryBudget, planParallelism, ENCODE_WORKER_BASE_BYTES } from '../lib/util/limits';
import { trainDeviceEstimate } from '../lib/train/device-memory';
import { parseTrainConfig } from '../lib/train/config';
import { UserError } from '../lib/util/errors';
import { ModelFolder } from '../lib/models/model-folder';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('limits');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
const cores = os.availableParallelism();

test('planParallelism: capped at the work, warns above the cores, refuses above memory', () => {
  const lines: string[] = [];
  const warn = (l: string) => lines.push(l);
  assert.equal(planParallelism({ what: '--workers', requested: 64, perWorkerBytes: 1e6, work: 2 }, warn), 2);
  assert.deepEqual(lines, []);
  assert.equal(planParallelism({ what: '--workers', requested: cores + 1, perWorkerBytes: 1e6 }, warn), cores + 1);
  assert.equal(lines.length, 1);
  assert.match(lines[0], new RegExp(`^--workers ${cores + 1}: more than the ${cores} cores here`));
  // Two workers of 0.4 × the total memory (+1 byte) exceed the budget, which is at most 0.8 × the total
  // whatever free memory is at the moment planParallelism reads it (it changes between two reads).
  const per = (os.totalmem() * 0.8) / 2 + 1;
  assert.ok(memoryBudget() <= os.totalmem() * 0.8);
  assert.throws(() => planParallelism({ what: '--devices', requested: 2, perWorkerBytes: per, fixed: true }, warn),
    (e) => e instanceof UserError && /^--devices 2: needs about \d+\.\d GB \(\d+ MB per worker.*use at most 1$/.test(e.message));
  // A fixed count (devices: the batch split) is never lowered, only checked.
  assert.equal(planParallelism({ what: '--devices', requested: 3, perWorkerBytes: 1, fixed: true, work: 1 }, warn), 3);
});

test('memory estimates grow with the model and the batch', () => {
  const raw = (over: Record<string, unknown>) => parseTrainConfig({
    model: { type: 'modernbert', preset: 'base' }, head: 'colbert', phase: 'supervised', data: { sources: ['x.jsonl'] },
    batchSize: 64, negatives: 3, optimizer: { lr: 1e-4 }, steps: 1, output: 'o', ...over,
  }, 'test');
  const base = trainDeviceEstimate(raw({}), 2);
  const tiny = trainDeviceEstimate(raw({ model: { type: 'modernbert', preset: 'tiny', vocabSize: 4096 } }), 2);
  assert.ok(base > 4 * 4 * 100e6, `base: ${base}`); // ModernBERT-base: > 100M parameters × 4 copies × 4 bytes
  assert.ok(tiny < base / 10 && tiny >= 350e6, `tiny: ${tiny}`);
  assert.ok(trainDeviceEstimate(raw({ miniBatch: 4 }), 2) < base);
  const shape = { weightBytes: 0, maxSeqLength: 512, hidden: 768, heads: 12, intermediate: 1152 };
  assert.equal(encodeWorkerBytes(shape, 32) > ENCODE_WORKER_BASE_BYTES, true);
  assert.ok(encodeWorkerBytes(shape, 64) > encodeWorkerBytes(shape, 32));
  assert.ok(encodeWorkerBytes({ ...shape, weightBytes: 1e9 }, 32) > encodeWorkerBytes(shape, 32));
  // The shape comes from the model's config: a folder that is not a model is an error, not a guess.
  assert.throws(() => ModelFolder.open(path.join(TMP, 'no-model')).encoderShape(), /not a model folder/);
});

test('encode --workers 64 on 3 texts starts one worker (no more than the batches)', { timeout: 120_000 }, () => {
  const m = path.join(TMP, 'm');
  assert.equal(runCli(['init-model', '--config', 'tiny', '--out', m]).code, 0);
  const input = path.join(TMP, 't.jsonl');
  fs.writeFileSync(input, ['a b', 'c d', 'e f'].map((t, i) => JSON.stringify({ _id: `d${i}`, text: t })).join('\n') + '\n');
  const r = runCli(['encode', '--model', m, '--input', input, '--as', 'document', '--out', path.join(TMP, 'e.safetensors'), '--workers', '64']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /encoded 3 texts .*, 1 worker\)/);
  assert.doesNotMatch(r.stderr, /more than the .* cores/);
});

test('train --devices N that cannot fit in memory is refused before any device starts', { timeout: 120_000 }, () => {
  const ex = runCli(['train', '--example', 'supervised-colbert', '--data-dir', path.join(TMP, 'ex')]);
  assert.equal(ex.code, 0, ex.stderr);
  // 4096 devices (the batch splits over them): hundreds of MB each is far beyond any machine's memory.
  const cfg = { ...JSON.parse(ex.stdout), batchSize: 4096, miniBatch: 1, eval: undefined };
  const file = path.join(TMP, 'big.json');
  fs.writeFileSync(file, JSON.stringify(cfg));
  const r = runCli(['train', '--config', file, '--devices', '4096']);
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /^--devices 4096: more than the \d+ cores here/);
  assert.match(lines[1], /^colbert-zero: error: --devices 4096: needs about \d+\.\d GB \(\d+ MB per worker/);
  // No replica started: rank 0 writes config.json and the log as the first thing it does.
  assert.ok(!fs.existsSync(path.join(cfg.output, 'config.json')), 'a replica started');
  assert.ok(!fs.existsSync(path.join(cfg.output, 'log.jsonl')));
});
