/**
 * The newer commands held to the core's safety (issue 15), run as a user runs them: `--overwrite` replaces
 * only what the command wrote, a failed `data import` never becomes data, a dry run writes nothing, two
 * runs of `reproduce` into one folder are stopped by a lock, and paths where folders cannot be made fail in
 * one line instead of hanging (each such case runs under a timeout, so a hang fails the test instead of
 * stalling the suite).
 */
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { runCli, type CliResult } from './helpers/cli';
import { PROJECT_ROOT, sharedPath, skipWithoutShared } from './helpers/shared';
import { makeResult } from './helpers/report';
import { writeResult } from '../lib/report/results';
import { localBeirSets } from '../lib/data/local';
import { buildPlan, type PlanData } from '../lib/pipelines/plan';
import { PRESETS } from '../lib/pipelines/presets';
import { orderPhases, phaseKey } from '../lib/pipelines/phase';
import { ResultsFolder } from '../lib/report/layout';
import { runPlan } from '../lib/pipelines/plan-runner';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('safety-commands');
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const HAS_PROC = fs.existsSync('/proc/self');

let n = 0;
const fresh = (name: string) => path.join(TMP, `${name}-${++n}`);

/** The CLI in its own process with a time limit (60 s unless said): a command that hangs fails instead of stalling the suite. */
const runTimed = (args: string[], o: { env?: Record<string, string>; cwd?: string; timeout?: number } = {}) => runCli(args, { ...o, timeout: o.timeout ?? 60_000 });

/** Exit 1 with exactly one line on stderr, in words (no Node errno text such as "ENOENT: no such file"). */
function oneLine(r: CliResult & { timedOut?: boolean }, re: RegExp, code = 1): string {
  assert.ok(!r.timedOut, `hung: ${r.stderr}`);
  assert.equal(r.code, code, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], re);
  assert.doesNotMatch(lines[0], /\bE[A-Z]{3,}: [a-z]/, 'a raw errno message');
  return lines[0];
}

/** Every file under `dir`, relative, with its bytes. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(path.relative(dir, path.join(e.parentPath, e.name)), fs.readFileSync(path.join(e.parentPath, e.name)).toString('base64'));
  }
  return out;
}

const MODEL = path.join(TMP, 'model');
const made = runCli(['init-model', '--config', 'tiny', '--out', MODEL]);
assert.equal(made.code, 0, made.stderr);

/** A small corpus of made-up documents. */
function corpus(dir: string, docs = 40): string {
  fs.mkdirSync(dir, { recursive: true });
  const words = ['river', 'stone', 'cloud', 'field', 'light', 'music', 'paper', 'glass', 'window', 'garden', 'winter', 'forest'];
  const lines = Array.from({ length: docs }, (_, i) => JSON.stringify({ _id: `d${i}`, text: Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 5) % words.length]).join(' ') }));
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), lines.join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"river stone"}\n{"_id":"q2","text":"winter forest"}\n');
  return dir;
}

// ------------------------------------------------------------------------------------- --overwrite

test('init-model --overwrite replaces only the files init-model wrote: a NOTES.md and a my-eval/ folder the user added stay', () => {
  const out = fresh('m');
  assert.equal(runCli(['init-model', '--config', 'tiny', '--out', out]).code, 0);
  fs.writeFileSync(path.join(out, 'NOTES.md'), 'my notes\n');
  fs.mkdirSync(path.join(out, 'my-eval'));
  fs.writeFileSync(path.join(out, 'my-eval', 'scores.json'), '{"ndcg": 0.5}\n');
  const weights = fs.readFileSync(path.join(out, 'model.safetensors'));
  // A dense model over the ColBERT one: init-model's own 1_Dense/ goes, the user's files stay.
  const r = runCli(['init-model', '--config', 'tiny', '--out', out, '--overwrite', '--seed', '3', '--head', 'dense']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(out, 'NOTES.md'), 'utf8'), 'my notes\n');
  assert.equal(fs.readFileSync(path.join(out, 'my-eval', 'scores.json'), 'utf8'), '{"ndcg": 0.5}\n');
  assert.ok(!fs.readFileSync(path.join(out, 'model.safetensors')).equals(weights), 'the model was replaced');
  assert.ok(!fs.existsSync(path.join(out, '1_Dense')), "the earlier output's own files that the new one lacks are gone");
  assert.ok(fs.existsSync(path.join(out, '1_Pooling')));
  assert.deepEqual(fs.readdirSync(TMP).filter((f) => f.includes('.tmp-')), [], 'no temporary folders left');
});

test('an init-model folder whose marker lists no files (an older version) is refused when it holds anything else', () => {
  const out = fresh('legacy');
  assert.equal(runCli(['init-model', '--config', 'tiny', '--out', out]).code, 0);
  fs.writeFileSync(path.join(out, '.colbert-zero-output.json'), JSON.stringify({ command: 'init-model', written: '2026-01-01T00:00:00Z' }));
  fs.writeFileSync(path.join(out, 'NOTES.md'), 'my notes\n');
  const before = snapshot(out);
  const r = runCli(['init-model', '--config', 'tiny', '--out', out, '--overwrite']);
  assert.equal(r.code, 1);
  assert.match(r.stderr.trim().split('\n').pop()!, /holds files that init-model did not record writing \(NOTES\.md\); move them away or choose a new path$/);
  assert.deepEqual(snapshot(out), before);
});

test('index --overwrite keeps a README.txt the user put in the index folder', () => {
  const data = corpus(fresh('corpus'));
  const out = fresh('idx');
  let r = runCli(['index', '--model', MODEL, '--corpus', data, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  fs.writeFileSync(path.join(out, 'README.txt'), 'built for the March runs\n');
  r = runCli(['index', '--model', MODEL, '--corpus', data, '--out', out, '--overwrite', '--dtype', 'float16']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(out, 'README.txt'), 'utf8'), 'built for the March runs\n');
  assert.ok(fs.existsSync(path.join(out, 'vectors.f16')) && !fs.existsSync(path.join(out, 'vectors.f32')), 'the old vectors file went with the old index');
});

/** A folder of Nomic-style unsupervised parquet files. */
function pairsParquet(dir: string, rows: number): string {
  fs.mkdirSync(dir, { recursive: true });
  const q = Array.from({ length: rows }, (_, i) => `query ${i}`);
  const d = Array.from({ length: rows }, (_, i) => `document ${i}`);
  const buf = parquetWriteBuffer({ columnData: [{ name: 'query', data: q, type: 'STRING' }, { name: 'document', data: d, type: 'STRING' }] as never });
  fs.writeFileSync(path.join(dir, 'reddit-00000-of-00001.parquet'), new Uint8Array(buf));
  return dir;
}

test('data convert --overwrite keeps a my-extra.jsonl the user added beside the converted files', () => {
  const from = pairsParquet(fresh('pq'), 4);
  const out = fresh('conv');
  let r = runCli(['data', 'convert', 'nomic-embed-unsupervised-data', '--from', from, '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  fs.writeFileSync(path.join(out, 'my-extra.jsonl'), '{"query": "mine", "document": "mine"}\n');
  r = runCli(['data', 'convert', 'nomic-embed-unsupervised-data', '--from', from, '--out', out, '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(out, 'my-extra.jsonl'), 'utf8'), '{"query": "mine", "document": "mine"}\n');
  assert.ok(fs.existsSync(path.join(out, 'reddit.jsonl')));
});

test('data convert of a parquet file without rows is an error naming the file; nothing is written', () => {
  const from = pairsParquet(fresh('pq0'), 0);
  const out = fresh('conv0');
  oneLine(runCli(['data', 'convert', 'nomic-embed-unsupervised-data', '--from', from, '--out', out]), /reddit-00000-of-00001\.parquet: has no rows/);
  assert.ok(!fs.existsSync(out));
});

test('report --no-figures into an earlier report folder removes the figures that report wrote; a file of the user\'s stays', () => {
  const runs = fresh('runs');
  writeResult(runs, makeResult({ id: 'a-distilled', pipeline: 'a', phase: 'distillation' }));
  writeResult(runs, makeResult({ id: 'c-distilled', pipeline: 'c', phase: 'distillation' }));
  const out = fresh('report');
  let r = runCli(['report', '--results', runs, '--out', out, '--no-png']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(fs.existsSync(path.join(out, 'smoke-main.html')) && fs.existsSync(path.join(out, 'plotly.min.js')));
  fs.writeFileSync(path.join(out, 'notes.txt'), 'mine\n');
  r = runCli(['report', '--results', runs, '--out', out, '--no-figures']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(out).sort(), ['notes.txt', 'report.json', 'report.md']);
  assert.doesNotMatch(fs.readFileSync(path.join(out, 'report.md'), 'utf8'), /smoke-main\.html/);
});

// ------------------------------------------------------------------------------------- data import

const cacheEnv = (root: string) => ({ CZ_DATA_DIR: root });

function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const listRow = (stdout: string, id: string) => stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '';

test('a data import that does not verify never enters the cache: not listed, not used, an earlier good copy kept', { skip: skipWithoutShared('beir', 'nfcorpus', 'corpus.jsonl') || skipWithoutShared('beir', 'scifact', 'corpus.jsonl') }, () => {
  const nfcorpus = path.dirname(sharedPath('beir', 'nfcorpus', 'corpus.jsonl')!);
  const scifact = path.dirname(sharedPath('beir', 'scifact', 'corpus.jsonl')!);
  const cache = fresh('cache');
  // NFCorpus imported as SciFact: its counts say so; nothing is kept.
  const bad = runCli(['data', 'import', 'beir-scifact', nfcorpus], { env: cacheEnv(cache) });
  assert.match(bad.stdout, /FAIL {2}documents: 3633, expected 5183/);
  oneLine(bad, /beir-scifact: .*does not match its manifest .*nothing was imported/);
  assert.ok(!fs.existsSync(path.join(cache, 'beir-scifact')) && !fs.existsSync(path.join(cache, 'locks', 'beir-scifact.json')));
  assert.match(listRow(runCli(['data', 'list'], { env: cacheEnv(cache) }).stdout, 'beir-scifact'), /^beir-scifact +beir .* - +/);
  const emptyShared = fresh('no-shared');
  assert.deepEqual(withEnv({ CZ_DATA_DIR: cache, CZ_SHARED_DATA: emptyShared }, () => localBeirSets(['scifact'])), [], 'NFCorpus is never found as SciFact');
  // A good copy, then a bad import over it: the good copy stays, verified and used.
  assert.equal(runCli(['data', 'import', 'beir-scifact', scifact], { env: cacheEnv(cache) }).code, 0);
  assert.equal(runCli(['data', 'import', 'beir-scifact', nfcorpus], { env: cacheEnv(cache) }).code, 1);
  const v = runCli(['data', 'verify', 'beir-scifact'], { env: cacheEnv(cache) });
  assert.equal(v.code, 0, v.stdout);
  assert.match(v.stdout, /documents: 5183 \(as expected\)/);
  assert.deepEqual(withEnv({ CZ_DATA_DIR: cache, CZ_SHARED_DATA: emptyShared }, () => localBeirSets(['scifact'])), [{ name: 'scifact', dir: path.join(cache, 'beir-scifact'), source: 'data cache' }]);
  assert.deepEqual(fs.readdirSync(cache).filter((f) => f.includes('.tmp-')), [], 'no temporary copy left');
});

test('a lone corpus.jsonl, and a file that is not parquet, are refused as imports; the error names the user\'s file', () => {
  const cache = fresh('cache');
  const lone = corpus(fresh('lone'));
  fs.rmSync(path.join(lone, 'queries.jsonl'));
  const r = runCli(['data', 'import', 'beir-scifact', path.join(lone, 'corpus.jsonl')], { env: cacheEnv(cache) });
  assert.match(r.stdout, /FAIL {2}queries: no file found/);
  oneLine(r, /nothing was imported/);
  const junkDir = fresh('junk');
  fs.mkdirSync(junkDir);
  const junk = path.join(junkDir, 'train-00000-of-00001.parquet');
  fs.writeFileSync(junk, 'this is not parquet\n');
  const j = runCli(['data', 'import', 'nomic-embed-supervised', junkDir], { env: cacheEnv(cache) });
  const line = oneLine(j, /not a readable parquet file/);
  assert.ok(line.includes(junk), line);
  assert.ok(!line.includes(cache), `names the cache copy: ${line}`);
  assert.deepEqual(fs.readdirSync(cache).filter((f) => f !== 'locks'), [], 'nothing in the cache');
});

test('a copy whose lock records no verification (an older version\'s import) is listed as not verified and not used', () => {
  const cache = fresh('cache');
  corpus(path.join(cache, 'beir-scifact'));
  fs.mkdirSync(path.join(cache, 'beir-scifact', 'qrels'));
  fs.writeFileSync(path.join(cache, 'beir-scifact', 'qrels', 'test.tsv'), 'q1\td1\t1\n');
  fs.mkdirSync(path.join(cache, 'locks'));
  fs.writeFileSync(path.join(cache, 'locks', 'beir-scifact.json'), JSON.stringify({ id: 'beir-scifact', origin: 'import', files: {}, updated: '2026-01-01T00:00:00Z' }));
  assert.match(listRow(runCli(['data', 'list'], { env: cacheEnv(cache) }).stdout, 'beir-scifact'), / not verified /);
  assert.deepEqual(withEnv({ CZ_DATA_DIR: cache, CZ_SHARED_DATA: fresh('no-shared') }, () => localBeirSets(['scifact'])), []);
});

/** The backbone's parameters in a safetensors file (embeddings, layers, final norm). */
function backboneParameters(file: string): number {
  const b = fs.readFileSync(file);
  const header = JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
  return Object.entries(header).filter(([k]) => /^(embeddings|layers|final_norm)\./.test(k)).reduce((s, [, v]) => s + v.shape!.reduce((a, x) => a * x, 1), 0);
}

test('a checkpoint import checks the architecture against the manifest: a random 2-layer model is not ColBERT-Zero', () => {
  const cache = fresh('cache');
  const r = runCli(['data', 'import', 'colbert-zero', MODEL], { env: cacheEnv(cache) });
  assert.match(r.stdout, /FAIL {2}config\.json: num_hidden_layers 2, expected 22/);
  assert.match(r.stdout, /FAIL {2}config\.json: hidden_size 64, expected 768/);
  assert.match(r.stdout, /FAIL {2}backbone parameters: [\d,]+, expected about 149,014,272/);
  oneLine(r, /colbert-zero: .*nothing was imported/);
  // The same check passes where a manifest describes this model.
  const manifests = fresh('manifests');
  fs.mkdirSync(manifests);
  const m = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'data-manifests', 'colbert-zero.json'), 'utf8'));
  m.architecture = { layers: 2, hidden: 64, parameters: backboneParameters(path.join(MODEL, 'model.safetensors')), source: 'this test' };
  fs.writeFileSync(path.join(manifests, 'colbert-zero.json'), JSON.stringify(m));
  const ok = runCli(['data', 'import', 'colbert-zero', MODEL], { env: { ...cacheEnv(cache), CZ_MANIFESTS_DIR: manifests } });
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /ok {4}backbone parameters: [\d,]+ \(as expected\)\n[\s\S]*verified\n$/);
});

test('CZ_DATA_DIR under /proc, at a file, or at a folder that takes no new files: one line, no hang', { timeout: 120_000 }, () => {
  const src = corpus(fresh('src'));
  if (HAS_PROC) {
    oneLine(runTimed(['data', 'import', 'beir-scifact', src], { env: cacheEnv('/proc/x'), timeout: 30_000 }), /\/proc\/x/);
    // /proc/locks is a file of the kernel's: the cache's locks folder cannot be there.
    oneLine(runTimed(['data', 'import', 'beir-scifact', src], { env: cacheEnv('/proc'), timeout: 30_000 }), /^colbert-zero: error: cannot write the data cache \/proc\/locks: \/proc\/locks: a part of this path is a file, not a folder$/);
  }
  const file = path.join(TMP, 'a-file');
  fs.writeFileSync(file, '');
  oneLine(runTimed(['data', 'list'], { env: cacheEnv(file) }), /^colbert-zero: error: CZ_DATA_DIR=.*a-file: is a file, not a folder$/, 2);
});

// ------------------------------------------------------------------------------------- reproduce

test('reproduce --dry-run writes nothing anywhere and says what a run would write', { timeout: 120_000 }, () => {
  const fresh1 = fresh('results');
  const r = runTimed(['reproduce', '--preset', 'smoke', '--dry-run', '--results', fresh1]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!fs.existsSync(fresh1), 'the results folder was not made');
  assert.match(r.stderr, /dry run: nothing was written\. A run would write under .*results-\d+:/);
  assert.match(r.stderr, /data[/\\]synthetic\/ +the preset's data/);
  // A user's folder: refused as the run would refuse it, untouched.
  const mine = fresh('mine');
  fs.mkdirSync(mine);
  fs.writeFileSync(path.join(mine, 'notes.txt'), 'mine\n');
  const u = runTimed(['reproduce', '--preset', 'smoke', '--dry-run', '--results', mine]);
  assert.equal(u.code, 1);
  assert.match(u.stderr.trim().split('\n').pop()!, /--results .*mine-\d+: exists and is not a previous reproduce output/);
  assert.deepEqual(fs.readdirSync(mine), ['notes.txt']);
  // A file, and the source tree's own folders, the same.
  const file = path.join(TMP, 'results.txt');
  fs.writeFileSync(file, 'x');
  const f = runTimed(['reproduce', '--preset', 'smoke', '--dry-run', '--results', file]);
  assert.match(f.stderr.trim().split('\n').pop()!, /^colbert-zero: error: --results .*results\.txt: exists and is not a folder$/);
  const lib = runTimed(['reproduce', '--preset', 'smoke', '--dry-run', '--results', 'lib']);
  assert.equal(lib.code, 1);
  assert.ok(!fs.existsSync(path.join(PROJECT_ROOT, 'lib', 'data', 'synthetic')), 'nothing written into the source tree');
  if (HAS_PROC) {
    const p = runTimed(['reproduce', '--preset', 'smoke', '--dry-run', '--results', '/proc/x'], { timeout: 30_000 });
    assert.ok(!p.timedOut, 'a dry run under /proc hung');
  }
});

/** A process that stays alive until killed (the holder of a lock). */
function liveProcess(): { pid: number; stop: () => void } {
  const p = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  return { pid: p.pid!, stop: () => p.kill('SIGKILL') };
}

test('a second reproduce into a results folder in use stops at once, naming the first run\'s process', { timeout: 120_000 }, () => {
  const results = fresh('results');
  fs.mkdirSync(results);
  fs.writeFileSync(path.join(results, '.colbert-zero-output.json'), JSON.stringify({ command: 'reproduce', written: '2026-01-01T00:00:00Z' }));
  const holder = liveProcess();
  try {
    fs.writeFileSync(path.join(results, '.colbert-zero-lock'), JSON.stringify({ pid: holder.pid, host: os.hostname(), command: 'reproduce --preset smoke', started: '2026-01-01T00:00:00Z' }));
    const r = runTimed(['reproduce', '--preset', 'smoke', '--results', results], { timeout: 60_000 });
    assert.ok(!r.timedOut, 'the second run started working instead of stopping');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr.trim().split('\n').pop()!, new RegExp(`^colbert-zero: error: --results .*results-\\d+ is in use by another run \\(process ${holder.pid}, colbert-zero reproduce --preset smoke`));
    assert.deepEqual(fs.readdirSync(results).sort(), ['.colbert-zero-lock', '.colbert-zero-output.json'], 'nothing written');
  } finally {
    holder.stop();
  }
});

test('a lock left by a killed reproduce is taken over by the next run', { timeout: 120_000 }, async () => {
  const results = fresh('results');
  fs.mkdirSync(results);
  fs.writeFileSync(path.join(results, '.colbert-zero-output.json'), JSON.stringify({ command: 'reproduce', written: '2026-01-01T00:00:00Z' }));
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
  const lock = path.join(results, '.colbert-zero-lock');
  fs.writeFileSync(lock, JSON.stringify({ pid: gone, host: os.hostname(), command: 'reproduce', started: '2026-01-01T00:00:00Z' }));
  const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs'), 'reproduce', '--preset', 'smoke', '--results', results], { env: { ...process.env, CZ_PROGRESS: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    // The new run holds the lock once it writes its own process id there; then it is stopped.
    let holder = 0;
    for (let waited = 0; waited < 60_000 && holder !== child.pid; waited += 200) {
      await new Promise((r) => setTimeout(r, 200));
      try {
        holder = (JSON.parse(fs.readFileSync(lock, 'utf8')) as { pid: number }).pid;
      } catch {
        holder = 0;
      }
      if (child.exitCode !== null) break;
    }
    assert.equal(holder, child.pid, `the stale lock was not taken over: ${stderr}`);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
});

test('runPlan: a phase being trained by another process is not trained again; the message names that process', { timeout: 60_000 }, async () => {
  const dir = fresh('plan');
  fs.mkdirSync(dir);
  const f = (name: string) => {
    const p = path.join(dir, `${name}.jsonl`);
    fs.writeFileSync(p, `{"text": "${name}"}\n`);
    return [p];
  };
  const data: PlanData = { mlm: f('mlm'), unsupervised: f('unsupervised'), supervised: f('supervised'), distillation: f('distillation') };
  const plan = buildPlan(PRESETS.smoke.scale, data, { seed: 0, pipelines: ['c'] });
  const first = orderPhases(plan.phases)[0];
  const resultsDir = path.join(dir, 'results');
  const phase = new ResultsFolder(resultsDir).phase(first.id, phaseKey(first, null, new Map())).dir;
  fs.mkdirSync(path.dirname(phase), { recursive: true });
  const holder = liveProcess();
  try {
    fs.writeFileSync(path.join(path.dirname(phase), `.${path.basename(phase)}.lock`), String(holder.pid));
    await assert.rejects(
      runPlan(plan, { resultsDir, preset: 'smoke', seed: 0, testSets: [], codeVersion: 'test', log: () => {} }),
      new RegExp(`phase ${first.id} .* is in use by another run \\(process ${holder.pid}\\)`),
    );
    assert.ok(!fs.existsSync(phase), 'nothing trained into the phase folder');
  } finally {
    holder.stop();
  }
});

// ------------------------------------------------------------------------------------- unwritable places

test('outputs under /proc fail in one line instead of hanging: init-model, export-pylate, data convert', { skip: !HAS_PROC && 'no /proc', timeout: 120_000 }, () => {
  oneLine(runTimed(['init-model', '--config', 'tiny', '--out', '/proc/x'], { timeout: 30_000 }), /^colbert-zero: error: cannot write init-model output \/proc\/x: \/proc takes no new files/);
  oneLine(runTimed(['export-pylate', '--pipeline', 'c', '--out', '/proc/x'], { timeout: 30_000 }), /cannot write export-pylate output \/proc\/x/);
  const from = pairsParquet(fresh('pq'), 2);
  oneLine(runTimed(['data', 'convert', 'nomic-embed-unsupervised-data', '--from', from, '--out', '/proc/x'], { timeout: 30_000 }), /cannot write data convert output \/proc\/x/);
});

/** Runs the CLI with `dir` mounted read-only (a private mount namespace); null where this system does not allow one. */
function withReadOnly(dir: string, args: string[], env: Record<string, string> = {}): CliResult | null {
  if (spawnSync('unshare', ['-rm', 'true']).status !== 0) return null;
  const r = spawnSync('unshare', ['-rm', 'sh', '-c', 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"', dir, process.execPath, path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs'), ...args], {
    env: { ...process.env, CZ_PROGRESS: '0', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return r.status === null ? null : { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

test('a read-only model folder (export-onnx) and a read-only data cache: one sentence, not EROFS', { timeout: 120_000 }, (t) => {
  const m = fresh('ro-model');
  fs.cpSync(MODEL, m, { recursive: true, filter: (s) => !/model\.onnx/.test(s) });
  const r = withReadOnly(m, ['export-onnx', '--model', m]);
  if (!r) return t.skip('no private read-only mounts here (unshare -rm)');
  oneLine(r, /^colbert-zero: error: cannot write .*model\.onnx: is on a read-only file system$/);
  const cache = fresh('ro-cache');
  fs.mkdirSync(cache);
  const c = withReadOnly(cache, ['data', 'import', 'beir-scifact', corpus(fresh('src'))], cacheEnv(cache))!;
  oneLine(c, /ro-cache-\d+.*read-only file system/);
});
