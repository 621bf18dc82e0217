/**
 * Benchmark: the matrix products of one training step, ONNX Runtime (the ort engine's kernels) beside PyTorch,
 * at 1 and 2 threads. At base size these products are ~90 % of a step, so their speed per core bounds how
 * close the ort engine can come to PyTorch. For each weight shape [K, N] of ModernBERT (small: hidden 256;
 * base: hidden 768) over 4,896 token rows (32 documents × 153 tokens), the three products the training
 * graph runs, as it runs them: the forward x·W (MatMul over [32, 153, K]), the input gradient dy·Wᵀ
 * (MatMul of a transposed weight, which ONNX Runtime fuses), the weight gradient xᵀ·dy (Gemm, transA).
 * PyTorch: bench/python/gemm_torch.py on the same shapes. Best of 8 runs each.
 * Run: `npx tsx bench/gemm.ts`. Writes results/benchmarks/gemm.md.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { createSession, loadOrt } from '../lib/backend/ort';
import { FLOAT, GraphBuilder } from '../lib/backend/onnx-graph';
import { writeFileAtomic } from '../lib/util';
import { referencePython } from '../lib/util/reference-python';
import { fillNormalisedRows } from './common';

const ROOT = path.resolve(__dirname, '..');
const DOCS = 32;
const TOKENS = 153;
const ROWS = DOCS * TOKENS;
/** [K, N] of each weight: attention's q/k/v/out (K·K), the MLP's two halves of Wi (K·I) and Wo (I·K). */
const SHAPES: Array<{ model: string; k: number; n: number }> = [
  { model: 'small', k: 256, n: 256 },
  { model: 'small', k: 256, n: 384 },
  { model: 'small', k: 384, n: 256 },
  { model: 'base', k: 768, n: 768 },
  { model: 'base', k: 768, n: 1152 },
  { model: 'base', k: 1152, n: 768 },
];
const PRODUCTS = ['fwd', 'dx', 'dw'] as const;
type Product = (typeof PRODUCTS)[number];
const NAMES: Record<Product, string> = { fwd: 'x·W', dx: 'dy·Wᵀ', dw: 'xᵀ·dy' };

/** The one-node graph of a product, as the training graph writes it. */
function graph(p: Product, k: number, n: number): Uint8Array {
  const g = new GraphBuilder();
  if (p === 'fwd') {
    const x = g.input('x', FLOAT, [DOCS, TOKENS, k]);
    g.output(g.op('MatMul', [x, g.input('w', FLOAT, [k, n])]), 'y', FLOAT, [DOCS, TOKENS, n]);
  } else if (p === 'dx') {
    const dy = g.input('dy', FLOAT, [DOCS, TOKENS, n]);
    const wt = g.op('Transpose', [g.input('w', FLOAT, [k, n])], { perm: [1, 0] });
    g.output(g.op('MatMul', [dy, wt]), 'y', FLOAT, [DOCS, TOKENS, k]);
  } else {
    g.output(g.op('Gemm', [g.input('x', FLOAT, [ROWS, k]), g.input('dy', FLOAT, [ROWS, n])], { transA: 1 }), 'y', FLOAT, [k, n]);
  }
  return g.serialize({ producer: 'bench', version: '1' });
}

async function ortMs(p: Product, k: number, n: number, threads: number): Promise<number> {
  const ort = loadOrt();
  const s = await createSession(graph(p, k, n), `${p} ${k}×${n}`, { threads });
  const t = (dims: number[], seed: number): Ort.Tensor => new ort.Tensor('float32', fillNormalisedRows(new Float32Array(dims.reduce((a, b) => a * b, 1)), dims[dims.length - 1], seed), dims);
  const feeds: Record<string, Ort.Tensor> =
    p === 'fwd' ? { x: t([DOCS, TOKENS, k], 1), w: t([k, n], 2) } : p === 'dx' ? { dy: t([DOCS, TOKENS, n], 3), w: t([k, n], 2) } : { x: t([ROWS, k], 1), dy: t([ROWS, n], 3) };
  for (let i = 0; i < 2; i++) await s.run(feeds);
  let best = Infinity;
  for (let r = 0; r < 8; r++) {
    const t0 = performance.now();
    await s.run(feeds);
    best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  return best;
}

function torchMs(py: string, threads: number): { torch: string; ms: Record<string, number> } {
  const args = [path.join(__dirname, 'python', 'gemm_torch.py'), String(threads), String(ROWS), ...SHAPES.flatMap((s) => [String(s.k), String(s.n)])];
  const r = spawnSync(py, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`gemm_torch.py: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const py = referencePython({ root: ROOT });
  if (!py) throw new Error('the reference environment (CZ_REFERENCE_VENV or .venv-reference; test/reference/venv.sh) is absent: PyTorch is the peer');
  const load0 = os.loadavg()[0];
  // A few seconds of the largest product first: the first timings of a cold process ran ~40 % slow.
  const warm = Date.now();
  while (Date.now() - warm < 5000) await ortMs('fwd', 768, 1152, 1);
  const lines: string[] = [];
  let version = '';
  for (const threads of [1, 2]) {
    const torch = torchMs(py, threads);
    version = torch.torch;
    for (const s of SHAPES) {
      for (const p of PRODUCTS) {
        const ours = await ortMs(p, s.k, s.n, threads);
        const theirs = torch.ms[`${p} ${s.k} ${s.n}`];
        const gf = (ms: number) => ((2 * ROWS * s.k * s.n) / ms / 1e6).toFixed(1);
        lines.push(`| ${threads} | ${s.model} | ${NAMES[p]} | [${ROWS}, ${s.k}] × [${s.k}, ${s.n}] | ${gf(ours)} | ${gf(theirs)} | ${(theirs / ours).toFixed(2)} |`);
        process.stderr.write(lines[lines.length - 1] + '\n');
      }
    }
  }
  const md = `# Matrix products of a training step

GFLOP/s of the three products per weight of one training step (forward x·W, input gradient dy·Wᵀ, weight
gradient xᵀ·dy) over ${ROWS.toLocaleString('en')} token rows (${DOCS} documents × ${TOKENS} tokens), for the weight shapes of a small
(hidden 256) and a base (hidden 768) ModernBERT. ONNX Runtime runs each as the training graph writes it (MatMul,
MatMul of a transposed weight, Gemm with transA); PyTorch runs \`x @ w\`, \`dy @ w.t()\`, \`x.t() @ dy\` (its CPU
build's BLAS). Best of 8 runs after 2 warm-up runs (and
5 s of warm-up products before the first). "ratio" divides PyTorch's time by ONNX Runtime's (above 1:
ONNX Runtime is faster).
Generated by \`npx tsx bench/gemm.ts\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores; PyTorch ${version}).
1-minute load average at the start ${load0.toFixed(1)}, at the end ${os.loadavg()[0].toFixed(1)}.

| threads | model | product | shape | ONNX Runtime GFLOP/s | PyTorch GFLOP/s | ratio |
|---:|---|---|---|---:|---:|---:|
${lines.join('\n')}
`;
  writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'gemm.md'), md);
  process.stdout.write(md);
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
