/**
 * Benchmark: exact MaxSim search in MultiVectorIndex at NanoBEIR size — 5,000 documents × 300 tokens ×
 * 128 dims (192M values: 768 MB as float32, 384 MB as float16) — queries of 32 tokens, top-100.
 * Reports queries/s (a batch of 16 queries, and one query alone), the index's memory (RSS and ArrayBuffer
 * growth while building it), and a plain typed-array loop over the same float32 data (one query).
 * Each storage type runs in its own child process so memory figures do not mix.
 * Run: `npx tsx bench/search.ts`. Writes results/benchmarks/search.md.
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { MultiVectorIndex, type SearchTimings, type StorageDtype } from '../lib/retrieval';
import { writeFileAtomic } from '../lib/util';
import { fillNormalisedRows } from './common';

const ROOT = path.resolve(__dirname, '..');
const ND = 5000;
const LD = 300;
const LQ = 32;
const DIM = 128;
const BATCH = 16;
const K = 100;

/** The plain loop over the index's documents: MaxSim of one query against every document. */
function plainLoop(index: MultiVectorIndex, q: Float32Array): Float64Array {
  const lq = q.length / DIM;
  const out = new Float64Array(index.size);
  for (let doc = 0; doc < index.size; doc++) {
    const d = index.vectors(doc);
    const ld = d.length / DIM;
    let total = 0;
    for (let i = 0; i < lq; i++) {
      let best = -Infinity;
      for (let j = 0; j < ld; j++) {
        let s = 0;
        for (let c = 0; c < DIM; c++) s += q[i * DIM + c] * d[j * DIM + c];
        if (s > best) best = s;
      }
      total += best;
    }
    out[doc] = total;
  }
  return out;
}

const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
const secondsSince = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
const mb = (bytes: number) => bytes / 2 ** 20;

interface ChildResult {
  dtype: StorageDtype;
  buildSeconds: number;
  vectorMB: number;
  rssMB: number;
  arrayBuffersMB: number;
  batchQps: number;
  singleQps: number;
  plainQps: number | null;
  plainMaxRelErr: number | null;
  top10: string[];
  /** Fractions of the batch search's wall time per stage. */
  shares: { decode: number; product: number; segmentMax: number };
  /** Batch queries/s with the block products on tfjs-wasm, on ORT with 1 thread and with 2. */
  variants: { tfjs: number; ort1: number; ort2: number };
}

async function child(dtype: StorageDtype): Promise<ChildResult> {
  await initBackend('wasm');
  const queries = Array.from({ length: BATCH }, (_, i) => {
    const q = new Float32Array(LQ * DIM);
    fillNormalisedRows(q, DIM, 1_000_000 + i);
    return q;
  });
  const doc = new Float32Array(LD * DIM);
  const before = process.memoryUsage();
  const index = new MultiVectorIndex({ dim: DIM, dtype, capacityTokens: ND * LD });
  let buildSeconds = 0; // adding only, not generating the random vectors
  for (let i = 0; i < ND; i++) {
    fillNormalisedRows(doc, DIM, i + 1);
    const t0 = process.hrtime.bigint();
    index.add(`doc${i}`, doc);
    buildSeconds += secondsSince(t0);
  }
  const after = process.memoryUsage();
  let t: bigint;

  await index.search(queries.slice(0, 1), K); // warm-up
  const variant = async (product: 'ort' | 'tfjs', threads?: number) => {
    await index.search(queries.slice(0, 1), K, { product, threads }); // warm-up
    const t1 = process.hrtime.bigint();
    await index.search(queries, K, { queryBatch: BATCH, product, threads });
    return BATCH / secondsSince(t1);
  };
  const variants = { tfjs: await variant('tfjs'), ort1: await variant('ort', 1), ort2: await variant('ort', 2) };
  t = process.hrtime.bigint();
  const timings: SearchTimings = { decode: 0, product: 0, segmentMax: 0 };
  const hits = await index.search(queries, K, { queryBatch: BATCH, timings });
  const batchSeconds = secondsSince(t);
  const batchQps = BATCH / batchSeconds;
  const share = (x: number) => x / batchSeconds;
  t = process.hrtime.bigint();
  await index.search(queries.slice(1, 3), K, { queryBatch: 1 });
  const singleQps = 2 / secondsSince(t);

  let plainQps: number | null = null;
  let plainMaxRelErr: number | null = null;
  if (dtype === 'float32') {
    t = process.hrtime.bigint();
    const plain = plainLoop(index, queries[0]);
    plainQps = 1 / secondsSince(t);
    const [fast] = await index.scoreAll([queries[0]]);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < plain.length; i++) {
      diff = Math.max(diff, Math.abs(fast[i] - plain[i]));
      scale = Math.max(scale, Math.abs(plain[i]));
    }
    plainMaxRelErr = diff / scale;
  }
  return {
    dtype,
    buildSeconds,
    vectorMB: mb(index.vectorBytes),
    rssMB: mb(after.rss - before.rss),
    arrayBuffersMB: mb(after.arrayBuffers - before.arrayBuffers),
    batchQps,
    singleQps,
    plainQps,
    plainMaxRelErr,
    top10: hits[0].slice(0, 10).map((h) => h.id),
    shares: { decode: share(timings.decode), product: share(timings.product), segmentMax: share(timings.segmentMax) },
    variants,
  };
}

function main(): void {
  const results: ChildResult[] = [];
  for (const dtype of ['float32', 'float16'] as StorageDtype[]) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--child', dtype], {
      encoding: 'utf8',
      cwd: ROOT,
      env: { ...process.env, CZ_PROGRESS: '0' },
      maxBuffer: 1 << 24,
    });
    if (r.status !== 0) throw new Error(`child ${dtype} failed:\n${r.stderr}`);
    results.push(JSON.parse(r.stdout.trim().split('\n').pop()!));
  }
  const [f32, f16] = results;
  const overlap = f16.top10.filter((id) => f32.top10.includes(id)).length;
  const row = (r: ChildResult) =>
    `| ${r.dtype} | ${r.vectorMB.toFixed(0)} | ${r.rssMB.toFixed(0)} | ${r.arrayBuffersMB.toFixed(0)} | ${r.buildSeconds.toFixed(1)} | ${r.batchQps.toFixed(2)} | ${r.singleQps.toFixed(2)} |`;
  const text = [
    '# Exact MaxSim search benchmark (NanoBEIR size)',
    '',
    `${ND.toLocaleString('en-US')} documents × ${LD} tokens × ${DIM} dims (random L2-normalised vectors), queries of ${LQ} tokens, top-${K}.`,
    `"batch" = ${BATCH} queries searched together (one product per document block); "single" = one query per search.`,
    'Memory: growth of the process while the index was built (RSS, and ArrayBuffer bytes), each dtype in its own process.',
    `Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} at the end (other work shares the cores);`,
    `Node ${process.version}. Block products on ONNX Runtime's GEMM with all cores (the default) unless the table says otherwise. "build" = adding the vectors (float16: converting them too). Produced by \`npx tsx bench/search.ts\`.`,
    '',
    '| storage | vectors (MB) | RSS growth (MB) | ArrayBuffers growth (MB) | build (s) | queries/s, batch | queries/s, single |',
    '|---|---:|---:|---:|---:|---:|---:|',
    row(f32),
    row(f16),
    '',
    `Batch of ${BATCH} queries by where the block products run (the segment max and sums stay one JS thread):`,
    '',
    '| storage | tfjs-wasm (1 core) | ORT GEMM, 1 thread | ORT GEMM, 2 threads | 2 threads ÷ 1 thread | ORT 2 threads ÷ tfjs |',
    '|---|---:|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.dtype} | ${r.variants.tfjs.toFixed(2)} | ${r.variants.ort1.toFixed(2)} | ${r.variants.ort2.toFixed(2)} | ${(r.variants.ort2 / r.variants.ort1).toFixed(2)}× | ${(r.variants.ort2 / r.variants.tfjs).toFixed(2)}× |`),
    '',
    '| method (float32 data, one query) | queries/s | × plain loop | max rel. error vs plain loop |',
    '|---|---:|---:|---:|',
    `| plain typed-array loop (JS) | ${f32.plainQps!.toFixed(3)} | 1.0 | 0 |`,
    `| MultiVectorIndex, single | ${f32.singleQps.toFixed(2)} | ${(f32.singleQps / f32.plainQps!).toFixed(1)} | ${f32.plainMaxRelErr!.toExponential(1)} |`,
    `| MultiVectorIndex, batch of ${BATCH} | ${f32.batchQps.toFixed(2)} | ${(f32.batchQps / f32.plainQps!).toFixed(1)} | — |`,
    '',
    `Where the batch search's time goes: ${results
      .map((r) => `${r.dtype}: product (block in, D·Qᵀ, read back) ${pct(r.shares.product)}, segment max + sums ${pct(r.shares.segmentMax)}` + (r.dtype === 'float16' ? `, f16 decode ${pct(r.shares.decode)}` : ''))
      .join('; ')}; the rest is top-k and bookkeeping.`,
    '',
    `float16 vs float32: ${overlap}/10 of the first query's top-10 documents agree.`,
    '',
  ].join('\n');
  process.stdout.write(text);
  writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'search.md'), text);
}

const at = process.argv.indexOf('--child');
if (at >= 0) {
  child(process.argv[at + 1] as StorageDtype)
    .then((r) => process.stdout.write(JSON.stringify(r) + '\n'))
    .catch((e) => {
      console.error(e);
      process.exit(1);
    });
} else {
  main();
}
