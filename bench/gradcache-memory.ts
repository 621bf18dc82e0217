/**
 * Benchmark: memory of one training step as the global batch grows, with GradCache's mini-batch fixed,
 * against plain back-propagation (one graph over the whole batch), on both engines. Tiny random ModernBERT
 * (preset "tiny"), dense and ColBERT heads (dim 32, queries 16 tokens, documents 32), unsupervised InfoNCE
 * over in-batch negatives, one device. Each configuration runs in a fresh process. ONNX Runtime: the peak
 * resident memory the kernel recorded (VmHWM, exact). tfjs: the largest tfjs allocation total (exact: every
 * tensor allocation is observed) and RSS sampled every 256 allocations.
 * Run: `npx tsx bench/gradcache-memory.ts [ort] [tfjs]`. Writes results/benchmarks/gradcache-memory.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../lib/backend';
import { parseTrainConfig, resolvePaths } from '../lib/train/config';
import { probeGradient } from '../lib/train/run';
import { writeSyntheticSources } from '../lib/data/synthetic';
import { writeFileAtomic } from '../lib/util';

const ROOT = path.resolve(__dirname, '..');
const LOAD = os.loadavg()[0];
const MINI = 32;
const BATCHES = [64, 256, 1024, 4096];
const PLAIN_BATCHES = [64, 256, 1024];
type Head = 'colbert' | 'dense';
type EngineName = 'ort' | 'tfjs';

/** The process's peak resident memory (VmHWM, kept by the kernel), MB. */
function peakRssMB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage.rss() / 2 ** 20;
}

async function one(engineName: EngineName, head: Head, batch: number, mini: number, dataDir: string): Promise<void> {
  await initBackend();
  const engine = tf.engine() as unknown as { trackTensor: (...a: unknown[]) => unknown; state: { numBytes: number } };
  const track = engine.trackTensor.bind(engine);
  let peak = 0;
  let rss = process.memoryUsage.rss();
  let calls = 0;
  engine.trackTensor = (...a: unknown[]) => {
    const r = track(...a);
    peak = Math.max(peak, engine.state.numBytes);
    if (++calls % 256 === 0) rss = Math.max(rss, process.memoryUsage.rss());
    return r;
  };
  const raw = {
    model: { type: 'modernbert', preset: 'tiny', vocabSize: 4096, dim: 32, queryLength: 16, documentLength: 32 },
    head,
    phase: 'unsupervised',
    data: { sources: [path.join(dataDir, 'unsupervised-a.jsonl')], avoidDuplicates: false },
    batchSize: batch,
    miniBatch: mini,
    optimizer: { lr: 1e-4 },
    steps: 1,
    output: path.join(dataDir, 'out'),
  };
  const cfg = resolvePaths(parseTrainConfig(raw, 'bench'), dataDir);
  const t0 = Date.now();
  // tfjs's plain reference is one graph over the batch; on ort a mini-batch as large as the batch is one graph too.
  const r = await probeGradient(cfg, undefined, engineName === 'tfjs' ? { plain: mini === batch } : { engine: 'ort' });
  rss = Math.max(rss, process.memoryUsage.rss());
  const rssPeakMB = engineName === 'ort' ? peakRssMB() : rss / 2 ** 20;
  process.stdout.write(JSON.stringify({ engine: engineName, head, batch, mini, tfPeakMB: engineName === 'tfjs' ? peak / 2 ** 20 : NaN, rssPeakMB, seconds: (Date.now() - t0) / 1000, loss: r.loss }) + '\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--one') return one(args[1] as EngineName, args[2] as Head, Number(args[3]), Number(args[4]), args[5]);
  const engines = (['ort', 'tfjs'] as const).filter((e) => args.length === 0 || args.includes(e));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-gcmem-'));
  writeSyntheticSources(dataDir, 'unsupervised', 4096, { seed: 1 });
  const rows: Array<Record<string, number> & { head: Head; engine: EngineName }> = [];
  const runs: Array<[EngineName, Head, number, number]> = [];
  for (const e of engines) {
    for (const head of ['dense', 'colbert'] as const) runs.push(...BATCHES.map((b) => [e, head, b, MINI] as [EngineName, Head, number, number]), ...PLAIN_BATCHES.map((b) => [e, head, b, b] as [EngineName, Head, number, number]));
  }
  for (const [e, head, b, m] of runs) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--one', e, head, String(b), String(m), dataDir], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CZ_PROGRESS: '0' } });
    if (r.status !== 0) throw new Error(`${e}, batch ${b}, mini-batch ${m}: ${r.stderr}`);
    const rec = JSON.parse(r.stdout.trim().split('\n').pop()!);
    rows.push(rec);
    process.stderr.write(`${JSON.stringify(rec)}\n`);
  }
  const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  const table = rows
    .map((r) => `| ${r.engine} | ${r.head} | ${r.batch} | ${r.mini === r.batch ? 'plain (one graph)' : `GradCache ${r.mini}`} | ${fmt(r.tfPeakMB)} | ${fmt(r.rssPeakMB)} | ${r.seconds.toFixed(1)} |`)
    .join('\n');
  const ratio = (e: EngineName, head: Head) => {
    const at = (b: number) => rows.find((r) => r.engine === e && r.head === head && r.batch === b && r.mini === MINI)?.rssPeakMB;
    const [a, z] = [at(64), at(4096)];
    return a && z ? `${e} ${head} ${(z / a).toFixed(2)}×` : null;
  };
  const ratios = engines.flatMap((e) => (['dense', 'colbert'] as const).map((h) => ratio(e, h))).filter(Boolean).join(', ');
  const md = `# GradCache memory

One training step (gradient of the first batch) of a tiny random ModernBERT model (preset "tiny": hidden 64,
2 layers) with a dense head (mean pooling, cosine) or a ColBERT head (dim 32, queries 16 tokens, documents
32 tokens) on unsupervised pairs with in-batch negatives, one device: ONNX Runtime (all cores) and tfjs (wasm,
one thread). "RSS peak" is the process's peak resident memory: on ort the kernel's high-water mark (VmHWM,
exact); on tfjs sampled every 256 tensor allocations (the wasm heap never shrinks, so it is the high-water
mark), where "tf peak" is the largest tfjs allocation total (exact: observed after every allocation). Each row
is a fresh process, its baseline (Node.js, the libraries, the model) included.
Generated by \`npx tsx bench/gradcache-memory.ts\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores).

| engine | head | batch | method | tf peak (MB) | RSS peak (MB) | step time (s) |
|---|---|---:|---|---:|---:|---:|
${table}

Peak memory at batch 4,096 over batch 64, GradCache ${MINI}: ${ratios}.

With GradCache the activations of only one mini-batch are alive at a time; what still grows with the batch is
the embeddings themselves (batch × tokens × dim) and their gradients; the loss is computed in chunks of
queries (tfjs: at most 2^20 query × document pairs at once, and lib/scores' MaxSim in blocks of a fixed element
budget; ort: blocks whose token-by-token similarities stay within 1M floats).
Plain back-propagation keeps every layer's activations of the whole batch until the backward pass.
Step times are indicative only (1-minute load average when the benchmark started: ${LOAD.toFixed(1)} on ${os.cpus().length} cores).
`;
  writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'gradcache-memory.md'), md);
  process.stdout.write(md);
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
