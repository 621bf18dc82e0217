/**
 * Benchmark: MaxSim matrix scoring for reranking — one query (32 tokens) against 1,000 documents of 180
 * tokens, dim 128 — by this library (lib/scores, and the index's blocked path), a plain typed-array loop,
 * plain tfjs (tf.matMul with a transpose flag + max, no fast path) and maxsim-cpu (Rust + libxsmm, PyPI),
 * all on the same L2-normalised inputs. Checks every method's scores against the plain loop.
 * A second table times the two orientations colbertScores chooses between (Q·Dᵀ vs D·Qᵀ, each with the
 * transpose lib/backend materialises) on a few shapes, which is how its rule was picked. A third times
 * forward + backward at in-batch training shapes: colbertScores' written-out gradient vs tfjs autodiff
 * of the same forward ops.
 * Run: `npx tsx bench/maxsim.ts`. Writes results/benchmarks/maxsim.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, matMul } from '../lib/backend';
import { colbertScores, productOrientation } from '../lib/scores';
import { MultiVectorIndex } from '../lib/retrieval';
import { writeFileAtomic } from '../lib/util';
import { GraphBuilder, FLOAT } from '../lib/backend/onnx-graph';
import { createSession, loadOrt } from '../lib/backend/ort';
import { fillNormalisedRows } from './common';

const ROOT = path.resolve(__dirname, '..');
const LQ = 32;
const ND = 1000;
const LD = 180;
const DIM = 128;
const REPEATS = 5;

/** Seeded normal rows, L2-normalised: the same data on every machine. */
function normalisedRows(rows: number, seed: number): Float32Array {
  return fillNormalisedRows(new Float32Array(rows * DIM), DIM, seed);
}

/** The plain loop: for each document, each query token, the best dot product over document tokens. */
function plainLoop(q: Float32Array, d: Float32Array): Float32Array {
  const out = new Float32Array(ND);
  for (let doc = 0; doc < ND; doc++) {
    let total = 0;
    for (let i = 0; i < LQ; i++) {
      let best = -Infinity;
      for (let j = 0; j < LD; j++) {
        const base = (doc * LD + j) * DIM;
        let s = 0;
        for (let c = 0; c < DIM; c++) s += q[i * DIM + c] * d[base + c];
        if (s > best) best = s;
      }
      total += best;
    }
    out[doc] = total;
  }
  return out;
}

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

async function best(repeats: number, f: () => Promise<ArrayLike<number>> | ArrayLike<number>): Promise<{ seconds: number; scores: ArrayLike<number> }> {
  let scores = await f(); // warm-up
  let seconds = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t = process.hrtime.bigint();
    scores = await f();
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return { seconds, scores };
}

function maxsimCpu(qFile: string, dFile: string, threads: number): { seconds: number; scores: number[] } | string {
  const py = path.join(ROOT, '.venv-reference', 'bin', 'python');
  if (!fs.existsSync(py)) return 'not run: .venv-reference absent (test/reference/venv.sh)';
  const env = { ...process.env, RAYON_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  const args = [path.join(ROOT, 'bench', 'python', 'maxsim_cpu_peer.py'), qFile, dFile, String(LQ), String(ND), String(LD), String(DIM), String(REPEATS)];
  const r = spawnSync(py, args, { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  if (r.status !== 0) return `not run: ${(r.stderr || r.stdout).trim().split('\n').pop()}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const backend = await initBackend('wasm');
  const q = normalisedRows(LQ, 1);
  const d = normalisedRows(ND * LD, 2);
  const rows: { method: string; seconds: number | null; err: number | null; note?: string }[] = [];

  const reference = await best(1, () => plainLoop(q, d));
  rows.push({ method: 'plain typed-array loop (JS)', seconds: reference.seconds, err: 0 });

  const tq = tf.tensor3d(q, [1, LQ, DIM]);
  const td = tf.tensor3d(d, [ND, LD, DIM]);
  const qm = tf.ones([1, LQ]) as tf.Tensor2D;
  const dm = tf.ones([ND, LD]) as tf.Tensor2D;
  const lib = await best(REPEATS, async () => {
    const s = colbertScores(tq, td, qm, dm);
    const v = await s.data();
    s.dispose();
    return v;
  });
  rows.push({ method: 'this library: lib/scores colbertScores (tfjs ops, masks)', seconds: lib.seconds, err: maxRel(lib.scores, reference.scores) });

  const index = new MultiVectorIndex({ dim: DIM, capacityTokens: ND * LD });
  for (let i = 0; i < ND; i++) index.add(`d${i}`, d.subarray(i * LD * DIM, (i + 1) * LD * DIM));
  const idx = await best(REPEATS, async () => (await index.scoreAll([q], { product: 'tfjs' }))[0]);
  rows.push({ method: 'this library: MultiVectorIndex.scoreAll, products on tfjs-wasm (+ JS segment max)', seconds: idx.seconds, err: maxRel(idx.scores, reference.scores) });
  for (const threads of [1, 2]) {
    const r = await best(REPEATS, async () => (await index.scoreAll([q], { product: 'ort', threads }))[0]);
    rows.push({ method: `this library: MultiVectorIndex.scoreAll, products on ORT GEMM, ${threads} thread${threads > 1 ? 's' : ''} (+ JS segment max)`, seconds: r.seconds, err: maxRel(r.scores, reference.scores) });
  }
  // Batched queries: 16 queries share every block product (reported per query).
  const NQ = 16;
  const qs = Array.from({ length: NQ }, (_, i) => (i === 0 ? q : normalisedRows(LQ, 10 + i)));
  for (const threads of [1, 2]) {
    const r = await best(REPEATS, async () => (await index.scoreAll(qs, { product: 'ort', threads }))[0]);
    rows.push({ method: `this library: scoreAll, ${NQ} queries per call, ORT GEMM, ${threads} thread${threads > 1 ? 's' : ''} (per query)`, seconds: r.seconds / NQ, err: maxRel(r.scores, reference.scores) });
  }
  // Tried: the whole padded MaxSim as one ORT graph (MatMul → ReduceMax over document tokens → ReduceSum).
  {
    const ort = loadOrt();
    const g = new GraphBuilder();
    const qi = g.input('q', FLOAT, ['lq', DIM]);
    const di = g.input('d', FLOAT, ['nd', 'ld', DIM]);
    const sims = g.op('MatMul', [di, g.op('Transpose', [qi], { perm: [1, 0] })]);
    const mx = g.op('ReduceMax', [sims], { axes: [1], keepdims: 0 });
    g.output(g.op('ReduceSum', [mx, g.ints('ax', [1], [1])], { keepdims: 0 }), 'scores', FLOAT, ['nd']);
    const bytes = g.serialize({ producer: 'bench', version: '1' });
    for (const threads of [1, 2]) {
      const session = await createSession(bytes, 'maxsim graph', { threads });
      const feeds = { q: new ort.Tensor('float32', q, [LQ, DIM]), d: new ort.Tensor('float32', d, [ND, LD, DIM]) };
      const r = await best(REPEATS, async () => (await session.run(feeds)).scores.data as Float32Array);
      rows.push({ method: `tried: padded MaxSim as one ORT graph (MatMul + ReduceMax + ReduceSum), ${threads} thread${threads > 1 ? 's' : ''}`, seconds: r.seconds, err: maxRel(r.scores, reference.scores) });
      await session.release();
    }
  }

  const plainTf = await best(REPEATS, async () => {
    const s = tf.tidy(() => tf.matMul(tq.reshape([LQ, DIM]) as tf.Tensor2D, td.reshape([ND * LD, DIM]) as tf.Tensor2D, false, true).reshape([LQ, ND, LD]).max(2).sum(0));
    const v = await s.data();
    s.dispose();
    return v;
  });
  rows.push({ method: 'plain tfjs: tf.matMul(transposeB) + max (no fast path)', seconds: plainTf.seconds, err: maxRel(plainTf.scores, reference.scores) });

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-maxsim-'));
  try {
    const qFile = path.join(tmp, 'q.f32');
    const dFile = path.join(tmp, 'd.f32');
    fs.writeFileSync(qFile, Buffer.from(q.buffer)); // little-endian on every supported host
    fs.writeFileSync(dFile, Buffer.from(d.buffer));
    for (const threads of [1, os.cpus().length]) {
      const r = maxsimCpu(qFile, dFile, threads);
      const method = `maxsim-cpu (Rust + libxsmm), ${threads} thread${threads > 1 ? 's' : ''}`;
      if (typeof r === 'string') rows.push({ method, seconds: null, err: null, note: r });
      else rows.push({ method, seconds: r.seconds, err: maxRel(r.scores, reference.scores) });
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  // Orientation: the same masked-free matrix MaxSim computed both ways.
  const orient: string[] = [];
  for (const [nq, nd] of [
    [1, 1000],
    [4, 500],
    [16, 200],
    [32, 100],
    [64, 64],
  ]) {
    const a = tf.tensor2d(normalisedRows(nq * LQ, 3), [nq * LQ, DIM]);
    const b = tf.tensor2d(normalisedRows(nd * LD, 4), [nd * LD, DIM]);
    const way = (qd: boolean) => async () => {
      const s = tf.tidy(() => (qd ? matMul(a, b, false, true) : tf.transpose(matMul(b, a, false, true))).reshape([nq, LQ, nd, LD]).max(3).sum(1));
      const v = await s.data();
      s.dispose();
      return v;
    };
    const qd = await best(3, way(true));
    const dq = await best(3, way(false));
    const chosen = productOrientation(nq * LQ, DIM) === 'DQ' ? 'D·Qᵀ' : 'Q·Dᵀ';
    orient.push(`| ${nq} × ${nd} | ${nq * LQ} | ${(qd.seconds * 1000).toFixed(1)} | ${(dq.seconds * 1000).toFixed(1)} | ${chosen} |`);
    a.dispose();
    b.dispose();
  }

  // Training: value and gradients w.r.t. queries and documents, padded documents masked.
  const train: string[] = [];
  for (const [nq, nd] of [
    [16, 32],
    [32, 64],
  ]) {
    const a = tf.tensor3d(normalisedRows(nq * LQ, 5), [nq, LQ, DIM]);
    const b = tf.tensor3d(normalisedRows(nd * LD, 6), [nd, LD, DIM]);
    const qm = tf.ones([nq, LQ]) as tf.Tensor2D;
    const dm = tf.tensor2d(Float32Array.from({ length: nd * LD }, (_, i) => (i % LD < LD - (Math.floor(i / LD) % 40) ? 1 : 0)), [nd, LD]);
    const taped = (x: tf.Tensor3D, y: tf.Tensor3D) => {
      const sims = matMul(x.reshape([nq * LQ, DIM]) as tf.Tensor2D, y.reshape([nd * LD, DIM]) as tf.Tensor2D, false, true).reshape([nq, LQ, nd, LD]);
      const best = tf.max(tf.add(sims, tf.mul(tf.sub(1, dm), -1e9).reshape([1, 1, nd, LD])), 3);
      return tf.sum(tf.mul(best, qm.reshape([nq, LQ, 1])), 1);
    };
    const timeGrads = (fn: (x: tf.Tensor3D, y: tf.Tensor3D) => tf.Tensor) =>
      best(2, async () => {
        const gs = tf.grads((x: tf.Tensor, y: tf.Tensor) => fn(x as tf.Tensor3D, y as tf.Tensor3D).sum())([a, b]);
        const v = await gs[1].data();
        tf.dispose(gs);
        return v;
      });
    const ours = await timeGrads((x, y) => colbertScores(x, y, qm, dm));
    const auto = await timeGrads(taped);
    train.push(`| ${nq} × ${nd} | ${(ours.seconds * 1000).toFixed(0)} | ${(auto.seconds * 1000).toFixed(0)} | ${(auto.seconds / ours.seconds).toFixed(1)} | ${maxRel(ours.scores, auto.scores).toExponential(1)} |`);
    tf.dispose([a, b, qm, dm]);
  }

  const header = '| method | ms / query | documents / s | × this library (colbertScores) | max rel. error vs plain loop |';
  const sep = '|---|---:|---:|---:|---:|';
  const lines = rows.map((r) =>
    r.seconds === null
      ? `| ${r.method} | — | — | — | ${r.note} |`
      : `| ${r.method} | ${(r.seconds * 1000).toFixed(1)} | ${Math.round(ND / r.seconds).toLocaleString('en-US')} | ${(lib.seconds / r.seconds).toFixed(2)} | ${r.err!.toExponential(1)} |`,
  );
  const text = [
    '# MaxSim reranking benchmark',
    '',
    `One query of ${LQ} tokens against ${ND.toLocaleString('en-US')} documents of ${LD} tokens, dim ${DIM}, float32, L2-normalised rows;`,
    `best of ${REPEATS} runs after a warm-up (the plain loop: one run). "× this library" > 1 means faster than lib/scores.`,
    `Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end (other work shares the cores);`,
    `Node ${process.version}; tfjs backend ${backend.tfName} (single-threaded).`,
    'Produced by `npx tsx bench/maxsim.ts`.',
    '',
    header,
    sep,
    ...lines,
    '',
    `## Orientation of the matrix product (queries of ${LQ} tokens, documents of ${LD}, dim ${DIM}; ms, best of 3)`,
    '',
    'colbertScores uses D·Qᵀ (then transposes the product) when query tokens ≤ 4 × dim, else Q·Dᵀ (transposing the documents).',
    '',
    '| queries × documents | query tokens | Q·Dᵀ (ms) | D·Qᵀ (ms) | chosen |',
    '|---|---:|---:|---:|---|',
    ...orient,
    '',
    `## Forward + backward at training shapes (queries of ${LQ} tokens, documents of ${LD}, masked padding; ms, best of 2)`,
    '',
    '| queries × documents | colbertScores (written-out gradient) | tfjs autodiff of the same ops | speed-up | max rel. diff of dD |',
    '|---|---:|---:|---:|---:|',
    ...train,
    '',
  ].join('\n');
  process.stdout.write(text);
  writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'maxsim.md'), text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
