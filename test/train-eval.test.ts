/** Evaluation during training (eval.jsonl) and the learning-rate sweep that picks the best run by it. */
import { test, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend } from '../lib/index';
import { runReplica } from '../lib/train/run';
import { sweepRuns } from '../lib/index';
import { tinyConfig, tmpDir } from './train-helpers/fixtures';

before(async () => {
  await initBackend();
});

/** A 6-document BEIR folder whose queries share words with their relevant document. */
function beir(dir: string): string {
  const d = path.join(dir, 'mini-beir');
  fs.mkdirSync(path.join(d, 'qrels'), { recursive: true });
  const topics = ['apple river stone', 'cloud green orange', 'tiger maple violet', 'copper silver lemon', 'harbor canyon meadow', 'falcon ember frost'];
  fs.writeFileSync(path.join(d, 'corpus.jsonl'), topics.map((t, i) => JSON.stringify({ _id: `d${i}`, title: '', text: `${t} ${t}` })).join('\n') + '\n');
  fs.writeFileSync(path.join(d, 'queries.jsonl'), topics.map((t, i) => JSON.stringify({ _id: `q${i}`, text: t.split(' ').slice(0, 2).join(' ') })).join('\n') + '\n');
  fs.writeFileSync(path.join(d, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + topics.map((_, i) => `q${i}\td${i}\t1`).join('\n') + '\n');
  return d;
}

test('eval in the config writes eval.jsonl at the requested steps and at the end', async () => {
  const dir = tmpDir('eval');
  const cfg = tinyConfig(dir, { steps: 4, eval: { datasets: [{ dir: beir(dir), split: 'test', name: 'mini' }], every: 2, k: 6, measures: ['ndcg_cut.10'] } });
  const r = await runReplica(cfg);
  const lines = fs.readFileSync(path.join(cfg.output, 'eval.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.step), [2, 4]);
  const key = Object.keys(lines[1].mean)[0];
  assert.ok(lines[1].mean[key] > 0 && lines[1].mean[key] <= 1, JSON.stringify(lines[1]));
  assert.equal(lines[1].datasets[0].name, 'mini');
  assert.deepEqual(r.lastEval, lines[1]);
});

test('the learning-rate sweep trains one run per value and keeps the best by the evaluation', async () => {
  const dir = tmpDir('sweep');
  const cfg = tinyConfig(dir, { steps: 3, eval: { datasets: [{ dir: beir(dir), split: 'test' }], k: 6, measures: ['ndcg_cut.10'] } });
  const probe = await runReplica({ ...cfg, output: path.join(dir, 'probe') });
  const metric = Object.keys(probe.lastEval!.mean)[0];
  const r = await sweepRuns(cfg, { lo: 1e-3, hi: 1e-1, k: 3, metric });
  assert.equal(r.results.length, 3);
  const best = Math.max(...r.results.map((x) => x.score));
  assert.equal(r.best.score, best);
  for (const x of r.results) assert.ok(fs.existsSync(path.join(r.outputs[String(x.lr)], 'eval.jsonl')));
  await assert.rejects(sweepRuns({ ...cfg, output: path.join(dir, 'bad') }, { lo: 1e-3, hi: 1e-2, k: 1, metric: 'nope' }), /metric "nope" is not in the evaluation/);
});
