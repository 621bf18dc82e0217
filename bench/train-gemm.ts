/**
 * Benchmark: does routing a training step's large 2-D products through ONNX Runtime's native GEMM
 * (lib/backend/matmul.ts with CZ_TRAIN_GEMM=ort: each product's operands copied out of tfjs-wasm, the
 * product on ORT — 1 or 2 threads — and the result copied back) speed up a ColBERT training step, and does it
 * change the gradient? One step = forward of 32 queries (32 tokens) and 32 documents (128 tokens) through a
 * random ModernBERT (preset tiny or small) + projection, MaxSim scores, in-batch InfoNCE, gradients of every
 * parameter (tf.variableGrads). Best of REPEATS after a warm-up; gradients compared normwise over all
 * parameters. Run: `npx tsx bench/train-gemm.ts`. Appends its table to results/benchmarks/train.md.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, setNativeTrainingProducts } from '../lib/backend';
import { presetConfig } from '../lib/models/config';
import { colbertProject } from '../lib/models/heads';
import { ModernBert } from '../lib/models/modernbert';
import { infoNCEFromScores } from '../lib/losses/contrastive';
import { colbertScores } from '../lib/scores';
import { relativeError } from '../lib/util/numeric';
import { writeFileAtomic } from '../lib/util';

import { randomIds } from './common';
const ROOT = path.resolve(__dirname, '..');
const REPEATS = 3;
const NQ = 32;
const LQ = 32;
const ND = 32;
const LD = 128;

function step(model: ModernBert, proj: tf.Variable, vars: tf.Variable[]): { seconds: number; grads: Float32Array } {
  const c = model.config;
  const qi = randomIds(NQ, LQ, c.vocabSize, 1);
  const di = randomIds(ND, LD, c.vocabSize, 2);
  const qm = new Int32Array(NQ * LQ).fill(1);
  const dm = new Int32Array(ND * LD).fill(1);
  const t = performance.now();
  const { value, grads } = tf.variableGrads(() => {
    const q = colbertProject(model.forward(qi, qm, NQ, LQ), proj as unknown as tf.Tensor2D);
    const d = colbertProject(model.forward(di, dm, ND, LD), proj as unknown as tf.Tensor2D);
    const s = colbertScores(q, d, tf.ones([NQ, LQ]) as tf.Tensor2D, tf.ones([ND, LD]) as tf.Tensor2D);
    return infoNCEFromScores(s, { docsPerQuery: 1, temperature: 0.05 });
  }, vars);
  const parts = vars.map((v) => grads[v.name].dataSync() as Float32Array);
  const seconds = (performance.now() - t) / 1000;
  value.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  return { seconds, grads: all };
}

function timed(model: ModernBert, proj: tf.Variable, vars: tf.Variable[]): { seconds: number; grads: Float32Array } {
  let r = step(model, proj, vars);
  let best = Infinity;
  for (let i = 0; i < REPEATS; i++) {
    r = step(model, proj, vars);
    best = Math.min(best, r.seconds);
  }
  return { seconds: best, grads: r.grads };
}

async function main(): Promise<void> {
  await initBackend();
  const rows: string[] = [];
  for (const preset of ['tiny', 'small'] as const) {
    const config = { ...presetConfig(preset)!, vocabSize: 4096 };
    const model = ModernBert.random(config, 0);
    const proj = tf.variable(tf.randomNormal([config.hiddenSize, 128], 0, 0.05, 'float32', 1));
    const vars = [...model.variables(), proj];
    setNativeTrainingProducts(false);
    const base = timed(model, proj, vars);
    const cells: string[] = [];
    for (const threads of [1, 2]) {
      process.env.CZ_THREADS = String(threads);
      setNativeTrainingProducts(true);
      const ort = timed(model, proj, vars);
      setNativeTrainingProducts(false);
      cells.push(`${(ort.seconds * 1000).toFixed(0)} (${(base.seconds / ort.seconds).toFixed(2)}×, grad diff ${relativeError(ort.grads, base.grads).toExponential(1)})`);
    }
    delete process.env.CZ_THREADS;
    const row = `| ${preset} (hidden ${config.hiddenSize}, ${config.numLayers} layers) | ${(base.seconds * 1000).toFixed(0)} | ${cells.join(' | ')} |`;
    process.stdout.write(row + '\n');
    rows.push(row);
    model.dispose();
    proj.dispose();
  }
  const file = path.join(ROOT, 'results', 'benchmarks', 'train.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n## Native GEMM for training products')[0].trimEnd() : '# Training throughput';
  const md = [
    old,
    '',
    '## Native GEMM for training products (CZ_TRAIN_GEMM=ort, experimental)',
    '',
    `One training step: ${NQ} queries × ${LQ} tokens and ${ND} documents × ${LD} tokens, in-batch InfoNCE over MaxSim,`,
    'gradients of every parameter; ms, best of 3 after a warm-up. "ORT" routes every 2-D product of ≥ 2²⁰',
    'multiply-adds (forward and backward) through ONNX Runtime\'s GEMM, copying operands out of tfjs-wasm and',
    'the result back in; grad diff = normwise relative difference of all gradients against the tfjs step.',
    `Generated by \`npx tsx bench/train-gemm.ts\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end).`,
    '',
    '| model | tfjs-wasm products (ms) | ORT GEMM, 1 thread (ms) | ORT GEMM, 2 threads (ms) |',
    '|---|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  writeFileAtomic(file, md);
  process.stdout.write('wrote results/benchmarks/train.md\n');
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
