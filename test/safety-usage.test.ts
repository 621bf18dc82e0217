/**
 * How the newer commands are used (issue 15): bad option and environment values are usage errors (exit 2,
 * one line naming the option or variable) before any work; `--threads` / `CZ_THREADS` above the cores are
 * lowered with a warning instead of starting a thousand threads (run under a timeout: a hang fails here);
 * messages say what is wrong in the user's words. The notebook runner and the kernel installer too.
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli, type CliResult } from './helpers/cli';
import { PROJECT_ROOT } from './helpers/shared';
import { ortAvailable } from '../lib/backend/ort';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('safety-usage');
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const CORES = os.availableParallelism();

/** The CLI in its own process with a time limit (60 s unless said): a command that hangs fails instead of stalling the suite. */
const runTimed = (args: string[], o: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}) => runCli(args, { ...o, timeout: o.timeout ?? 60_000 });

/** Exactly one line on stderr matching `re`, with exit `code`. */
function oneLine(r: CliResult, code: number, re: RegExp): void {
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
}

const MODEL = path.join(TMP, 'model');
assert.equal(runCli(['init-model', '--config', 'tiny', '--out', MODEL]).code, 0);
const DOCS = path.join(TMP, 'docs.jsonl');
const words = ['river', 'stone', 'cloud', 'field', 'light', 'music', 'paper', 'glass'];
fs.writeFileSync(DOCS, Array.from({ length: 30 }, (_, i) => JSON.stringify({ _id: `d${i}`, text: Array.from({ length: 10 }, (_, j) => words[(i + j * 3) % words.length]).join(' ') })).join('\n') + '\n');
const QUERIES = path.join(TMP, 'queries.jsonl');
fs.writeFileSync(QUERIES, '{"_id":"q1","text":"river stone"}\n{"_id":"q2","text":"paper glass"}\n');
const INDEX = path.join(TMP, 'idx');
assert.equal(runCli(['index', '--model', MODEL, '--corpus', DOCS, '--out', INDEX]).code, 0);

test('usage errors exit 2 with one line naming the option, before any work', () => {
  const out = path.join(TMP, 'never');
  const cases: Array<[string[], RegExp]> = [
    [['init-model', '--config', 'huge', '--out', out], /--config.*not a preset \(tiny, small, base\) and no such file or folder/],
    [['index', '--model', MODEL, '--corpus', DOCS, '--out', out, '--dtype', 'int8'], /--dtype.*float32, float16/],
    [['search', '--engine', 'foo', '--model', MODEL, '--index', INDEX, '--queries', QUERIES, '--out', out], /--engine.*ort, tfjs/],
    [['reproduce', '--preset', 'nope', '--dry-run'], /--preset.*smoke, demo, study, paper/],
    [['reproduce', '--preset', 'smoke', '--dry-run', '--seeds', '99999999999999999999'], /--seeds.*99999999999999999999 is too large for an exact seed/],
    [['export-onnx', '--model', MODEL, '--head', 'bogus'], /--head.*colbert, dense/],
    [['backend', '--size', '100000'], /--size.*from 1 to 4096/],
  ];
  for (const [args, re] of cases) {
    const r = runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0], re, args.join(' '));
    assert.doesNotMatch(r.stderr, /Invalid typed array length/);
  }
  assert.ok(!fs.existsSync(out));
});

test('environment variables are checked like options: a bad value is a usage error naming the variable', () => {
  oneLine(runCli(['data', 'list'], { env: { CZ_THREADS: '1.5' } }), 2, /^colbert-zero: error: CZ_THREADS=1\.5: takes a positive integer \(threads\)$/);
  oneLine(runCli(['eval-run', '--qrels', 'x', '--run', 'y'], { env: { CZ_PROGRESS: 'maybe' } }), 2, /^colbert-zero: error: CZ_PROGRESS=maybe: takes 0 \(no progress bars\) or 1 \(always\)$/);
  oneLine(runCli(['data', 'list'], { env: { CZ_DEBUG: 'yes' } }), 2, /^colbert-zero: error: CZ_DEBUG=yes: takes 0 or 1/);
  oneLine(runCli(['data', 'list'], { env: { CZ_ENGINE: 'torch' } }), 2, /^colbert-zero: error: CZ_ENGINE=torch: takes ort or tfjs$/);
  oneLine(runCli(['data', 'list'], { env: { CZ_HUB_URL: 'huggingface.co' } }), 2, /^colbert-zero: error: CZ_HUB_URL=huggingface\.co: takes an http:\/\/ or https:\/\/ URL$/);
  // --help still answers, and an empty value counts as unset.
  assert.equal(runCli(['data', 'list', '--help'], { env: { CZ_THREADS: '1.5' } }).code, 0);
  assert.equal(runCli(['data', 'list'], { env: { CZ_THREADS: '', CZ_DATA_DIR: path.join(TMP, 'cache') } }).code, 0);
});

test('search --threads 999 (and CZ_THREADS=999) is lowered to the cores with one warning, and finishes', { timeout: 240_000 }, () => {
  for (const [args, env, said] of [
    [['--threads', '999'], {}, '--threads 999'],
    [[], { CZ_THREADS: '999' }, 'CZ_THREADS 999'],
  ] as Array<[string[], Record<string, string>, string]>) {
    const out = path.join(TMP, `run-${said.replace(/\W+/g, '')}`);
    const r = runTimed(['search', '--model', MODEL, '--index', INDEX, '--queries', QUERIES, '--k', '5', '--out', out, ...args], { env, timeout: 90_000 });
    assert.ok(!r.timedOut, `${said}: the search hung`);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('more than the'));
    assert.deepEqual(warnings, [`${said}: more than the ${CORES} cores here; using ${CORES} threads`]);
    assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length, 10);
  }
});

test('search --engine tfjs --threads 2: the threads are the search\'s, as its help says; encode --engine tfjs --threads names --workers', () => {
  const out = path.join(TMP, 'tfjs.run');
  const r = runCli(['search', '--engine', 'tfjs', '--threads', '2', '--model', MODEL, '--index', INDEX, '--queries', QUERIES, '--k', '5', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /--workers/);
  assert.ok(fs.existsSync(out));
  oneLine(runCli(['encode', '--engine', 'tfjs', '--threads', '2', '--model', MODEL, '--input', QUERIES, '--as', 'query', '--out', path.join(TMP, 'e.st')]), 2, /--threads sets ONNX Runtime's threads; the tfjs engine encodes on one thread per model: use --workers N/);
});

test('export-onnx --head dense on a ColBERT model is refused (it used to write the ColBERT graph and exit 0)', () => {
  const m = path.join(TMP, 'm-head');
  fs.cpSync(MODEL, m, { recursive: true, filter: (s) => !/model\.onnx/.test(s) });
  oneLine(runCli(['export-onnx', '--model', m, '--head', 'dense']), 2, /--head dense: .*m-head is a ColBERT model \(PyLate layout\); --head chooses the head of a plain ModernBERT folder only/);
  assert.ok(!fs.existsSync(path.join(m, 'model.onnx')));
});

test('a repeated query id is reported as a duplicate query id', () => {
  const dup = path.join(TMP, 'dup-queries.jsonl');
  fs.writeFileSync(dup, '{"_id":"q1","text":"a"}\n{"_id":"q1","text":"b"}\n');
  oneLine(runCli(['score', '--model', MODEL, '--queries', dup, '--documents', DOCS]), 1, /dup-queries\.jsonl:2: duplicate query id 'q1' \(first on line 1\)/);
  oneLine(runCli(['encode', '--model', MODEL, '--input', dup, '--as', 'query', '--out', path.join(TMP, 'dup.st')]), 1, /duplicate query id 'q1'/);
});

test('CZ_ORT_PROVIDER=cuda without the CUDA provider: one line of ours saying what is missing and how to install it', { skip: !ortAvailable() && 'onnxruntime-node does not load here' }, () => {
  const r = runCli(['encode', '--model', MODEL, '--input', QUERIES, '--as', 'query', '--out', path.join(TMP, 'cuda.st')], { env: { CZ_ORT_PROVIDER: 'cuda' } });
  if (r.code === 0) return; // a machine with CUDA: nothing to report
  assert.equal(r.code, 1);
  const ours = r.stderr.trim().split('\n').filter((l) => l.startsWith('colbert-zero:'));
  assert.equal(ours.length, 1, r.stderr);
  assert.match(ours[0], /CZ_ORT_PROVIDER=cuda(: ONNX Runtime's CUDA provider is installed but could not load| needs ONNX Runtime's CUDA provider, which is not installed \(libonnxruntime_providers_cuda\.so.*missing.*\); install it with: ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install)/);
});

// ------------------------------------------------------------------------------------- the notebook tools

function tool(script: string, args: string[]): CliResult & { ms: number } {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'notebooks', 'tools', script), ...args], { cwd: PROJECT_ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CZ_JUPYTER_PYTHON: path.join(TMP, 'no-python') } });
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - t0 };
}

test('npm run kernel -- --bogus is a usage error and writes no kernel spec', () => {
  const spec = path.join(PROJECT_ROOT, '.jupyter', 'kernels', 'colbert-zero', 'kernel.json');
  const before = fs.existsSync(spec) ? fs.statSync(spec).mtimeMs : null;
  const r = tool('kernel.ts', ['--bogus']);
  oneLine(r, 2, /^kernel: unknown option --bogus \(usage: npm run kernel \[-- --user\]\)$/);
  assert.equal(fs.existsSync(spec) ? fs.statSync(spec).mtimeMs : null, before, 'nothing written');
});

test('npm run notebooks -- --preset bogus 01 is refused before Jupyter starts', () => {
  const r = tool('run.ts', ['--preset', 'bogus', '01']);
  oneLine(r, 2, /^notebooks: unknown preset "bogus" \(smoke, demo, study, paper\)$/);
});
