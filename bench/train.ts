/**
 * Benchmark: training speed of a ColBERT model — one optimizer step of in-batch InfoNCE over MaxSim with
 * AdamW — for random ModernBERT models at three sizes (presets tiny, small, base), on ONNX Runtime with 1
 * and 2 threads and on TensorFlow.js (tiny and small), beside PyTorch on the same weights with 1 and 2
 * threads (bench/python/train_torch.py: transformers' ModernBertModel, sdpa attention, torch.optim.AdamW).
 * Batch 32, queries 32 tokens (ColBERT's expansion), documents 180 tokens (long texts, truncated), so both
 * sides run exactly [32, 32] and [32, 180] batches. Each setup runs in its own process; for each size the
 * setups alternate (ORT 1 thread, PyTorch 1 thread, ORT 2 threads, PyTorch 2 threads, tfjs), so each
 * ratio compares runs made minutes apart on the same machine.
 * Run: `npx tsx bench/train.ts [tiny small base]`. Writes results/benchmarks/train.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { initBackend } from '../lib/backend';
import { parseTrainConfig, resolvePaths, type TrainConfig } from '../lib/train/config';
import { train } from '../lib/train/launch';
import { buildModel } from '../lib/train/model-factory';
import { syntheticExamples } from '../lib/data/synthetic';
import { writeFileAtomic } from '../lib/util';
import { referencePython } from '../lib/util/reference-python';

const ROOT = path.resolve(__dirname, '..');
const BATCH = 32;
const LQ = 32;
const LD = 180;

interface Size {
  preset: 'tiny' | 'small' | 'base';
  /** Embedding rows (tiny: the built-in tokenizer's 4,096; small and base: ModernBERT's 50,368). */
  vocab?: number;
  steps: number;
  warmup: number;
  tfjs: boolean;
}
const SIZES: Size[] = [
  { preset: 'tiny', vocab: 4096, steps: 10, warmup: 2, tfjs: true },
  { preset: 'small', steps: 5, warmup: 1, tfjs: true },
  { preset: 'base', steps: 3, warmup: 1, tfjs: false },
];

function config(dir: string, size: Size, engine: string): TrainConfig {
  const raw = {
    model: { type: 'modernbert', preset: size.preset, ...(size.vocab ? { vocabSize: size.vocab } : {}), dim: 128, queryLength: LQ, documentLength: LD },
    head: 'colbert',
    phase: 'unsupervised',
    data: { sources: [path.join(dir, `pairs-${size.preset}.jsonl`)] },
    batchSize: BATCH,
    temperature: { value: 0.05, learnable: false },
    optimizer: { lr: 1e-4 },
    steps: size.steps + size.warmup,
    checkpointEvery: 1000,
    engine,
    output: path.join(dir, `run-${engine}-${Math.random().toString(36).slice(2, 8)}`),
  };
  return resolvePaths(parseTrainConfig(raw, 'bench'), dir);
}

/** Seconds per step after warm-up, from a run's log. */
function secondsPerStep(out: string, warmup: number): number {
  const log = fs.readFileSync(path.join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seconds: number });
  return (log[log.length - 1].seconds - log[warmup - 1].seconds) / (log.length - warmup);
}

/** In a child process: one run of this library, printing seconds per step. */
async function one(dir: string, preset: string, engine: string, threads: number): Promise<void> {
  await initBackend();
  const size = SIZES.find((s) => s.preset === preset)!;
  const cfg = config(dir, size, engine);
  await train(cfg, { threads: engine === 'ort' ? threads : undefined });
  process.stdout.write(JSON.stringify({ secondsPerStep: secondsPerStep(cfg.output, size.warmup) }) + '\n');
  fs.rmSync(cfg.output, { recursive: true, force: true });
}

function run(args: string[], env: NodeJS.ProcessEnv = {}): { secondsPerStep: number; torch?: string } {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', cwd: ROOT, env: { ...process.env, CZ_PROGRESS: '0', ...env }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${args.slice(1).join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

interface Row {
  size: Size;
  setup: string;
  seconds: number;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--one') return one(args[1], args[2], args[3], Number(args[4]));
  const sizes = args.length ? SIZES.filter((s) => args.includes(s.preset)) : SIZES;
  const PY = referencePython({ root: ROOT });
  if (!PY) throw new Error('the reference environment (CZ_REFERENCE_VENV or .venv-reference; test/reference/venv.sh) is absent: PyTorch is the peer');
  await initBackend();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-bench-train-'));
  // Queries of ~10 words; documents of as many words as it takes to fill 180 tokens (no more: both sides pay for
  // tokenizing them on this side, none on PyTorch's, which feeds token ids).
  const pairs = syntheticExamples('unsupervised', 512, { seed: 3 }) as Array<{ query: string; document: string }>;
  const words = (s: string, n: number) => {
    const w = s.split(' ');
    return Array.from({ length: n }, (_, i) => w[i % w.length]).join(' ');
  };

  const load0 = os.loadavg()[0];
  const started = Date.now();
  const rows: Row[] = [];
  let torchVersion = '';
  for (const size of sizes) {
    fs.writeFileSync(path.join(dir, `pairs-${size.preset}.jsonl`), '');
    const model = await buildModel(config(dir, size, 'tfjs'));
    const modelDir = path.join(dir, `model-${size.preset}`);
    await model.save!(modelDir);
    // Documents of as many words as this model's tokenizer needs to fill 180 tokens.
    let docWords = 60;
    while (Math.min(...pairs.map((p) => model.tokenize([words(p.document, docWords)], 'document').length)) < LD) docWords += 10;
    const long = (s: string) => words(s, docWords);
    fs.writeFileSync(path.join(dir, `pairs-${size.preset}.jsonl`), pairs.map((p) => JSON.stringify({ query: p.query, document: long(p.document) })).join('\n') + '\n');
    const tq = model.tokenize(pairs.slice(0, BATCH).map((p) => p.query), 'query');
    const td = model.tokenize(pairs.slice(0, BATCH).map((p) => long(p.document)), 'document');
    if (tq.length !== LQ || td.length !== LD) throw new Error(`batches pad to [${tq.length}, ${td.length}] tokens, expected [${LQ}, ${LD}]`);
    (model as { dispose?: () => void }).dispose?.();
    const ours = (engine: string, threads: number) => run([process.execPath, '--import', 'tsx', __filename, '--one', dir, size.preset, engine, String(threads)]).secondsPerStep;
    const torch = (threads: number) => {
      const r = run([PY, path.join(__dirname, 'python', 'train_torch.py'), modelDir, String(BATCH), String(LQ), String(LD), String(size.steps), String(threads)]);
      torchVersion = r.torch ?? torchVersion;
      return r.secondsPerStep;
    };
    const add = (setup: string, seconds: number) => {
      rows.push({ size, setup, seconds });
      process.stderr.write(`${size.preset}\t${setup}\t${seconds.toFixed(3)} s/step\n`);
    };
    add('ort-1', ours('ort', 1));
    add('torch-1', torch(1));
    add('ort-2', ours('ort', 2));
    add('torch-2', torch(2));
    if (size.tfjs) add('tfjs-1', ours('tfjs', 1));
  }
  const minutes = (Date.now() - started) / 60000;
  const get = (size: Size, setup: string) => rows.find((r) => r.size === size && r.setup === setup)?.seconds;
  const NAMES: Record<string, string> = {
    'ort-1': 'colbert-zero, ONNX Runtime, 1 thread',
    'ort-2': 'colbert-zero, ONNX Runtime, 2 threads',
    'tfjs-1': 'colbert-zero, TensorFlow.js (wasm), 1 device',
    'torch-1': `PyTorch ${torchVersion}, 1 thread`,
    'torch-2': `PyTorch ${torchVersion}, 2 threads`,
  };
  const table = rows
    .map((r) => {
      const peer = get(r.size, r.setup.endsWith('2') ? 'torch-2' : 'torch-1')!;
      return `| ${r.size.preset} | ${NAMES[r.setup]} | ${r.seconds.toFixed(3)} | ${(BATCH / r.seconds).toFixed(1)} | ${r.setup.startsWith('torch') ? '' : (peer / r.seconds).toFixed(2)} |`;
    })
    .join('\n');
  const scaling = sizes.map((s) => `${s.preset} ${(get(s, 'ort-1')! / get(s, 'ort-2')!).toFixed(2)}× (PyTorch ${(get(s, 'torch-1')! / get(s, 'torch-2')!).toFixed(2)}×)`).join(', ');
  const md = `# Training speed

One optimizer step of a ColBERT model: in-batch InfoNCE over MaxSim / 0.05, AdamW, batch ${BATCH} (queries ${LQ} tokens,
documents ${LD} tokens), on random ModernBERT models: tiny (2 layers, hidden 64, vocabulary 4,096), small (4 layers,
hidden 256) and base (22 layers, hidden 768; ModernBERT-base's shape), both with ModernBERT's 50,368-row vocabulary,
and a projection to 128. Seconds per step after warm-up (tiny ${SIZES[0].steps} steps, small ${SIZES[1].steps}, base ${SIZES[2].steps}).
colbert-zero: \`train\` (tokenization, the step, AdamW and the log included) on one device, ONNX Runtime with 1 or 2
intra-op threads, or TensorFlow.js's wasm backend (one thread). PyTorch: the same weights (the folder colbert-zero saved),
the same batch shapes and step in transformers' ModernBertModel (sdpa attention), \`torch.set_num_threads\`.
"vs PyTorch" divides PyTorch's time by ours at the same thread count (above 1: colbert-zero is faster).
Generated by \`npx tsx bench/train.ts\` on ${new Date().toISOString().slice(0, 10)} (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores; PyTorch ${torchVersion}); ${minutes.toFixed(0)} minutes.
1-minute load average at the start ${load0.toFixed(1)}, at the end ${os.loadavg()[0].toFixed(1)} (compare rows of one run only).

| model | setup | s / step | examples / s | vs PyTorch |
|---|---|---:|---:|---:|
${table}

Second thread, ONNX Runtime: ${scaling}.
`;
  writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'train.md'), md);
  process.stdout.write(md);
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
