import { test, after, before } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { parseManifest } from '../lib/data/manifests/load';
import { fetchData, readLock } from '../lib/data/store';
import { importData } from '../lib/data/import-data';
import { downloadFile } from '../lib/data/hub';
import { verifyData } from '../lib/data/verify';
import { UserError } from '../lib/util/errors';
import { COMMIT, sha256, startFakeHub, type FakeHub } from './helpers/hub-server';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const REPO = 'org/NanoTiny';
const OPTS = { retryDelayMs: 5, idleTimeoutMs: 3000 };

function parquet(columns: Record<string, string[]>): Uint8Array {
  const columnData = Object.entries(columns).map(([name, data]) => ({ name, data, type: 'STRING' as const }));
  return new Uint8Array(parquetWriteBuffer({ columnData }));
}

// A NanoBEIR-shaped repository: 6 documents, 3 queries, 4 judgments, plus a larger binary file to cut.
const FILES = {
  'corpus/train-00000-of-00001.parquet': { bytes: parquet({ _id: ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'], text: ['a', 'b', 'c', 'd', 'e', 'f'] }) },
  'queries/train-00000-of-00001.parquet': { bytes: parquet({ _id: ['q1', 'q2', 'q3'], text: ['x', 'y', 'z'] }) },
  'qrels/train-00000-of-00001.parquet': { bytes: parquet({ 'query-id': ['q1', 'q1', 'q2', 'q3'], 'corpus-id': ['d1', 'd2', 'd3', 'd6'] }) },
  'extra/blob.bin': { bytes: new Uint8Array(crypto.randomBytes(300_000)) },
};

function manifest(over: Record<string, unknown> = {}, source: Record<string, unknown> = {}) {
  return parseManifest(
    {
      id: 'nano-tiny',
      kind: 'dataset',
      group: 'nanobeir',
      title: 'tiny',
      description: 'a test set',
      sources: [{ hub: REPO, repoType: 'dataset', revision: 'main', revisionSource: 'test', files: [], include: ['**/*.parquet', 'extra/*.bin'], ...source }],
      format: 'nanobeir',
      licence: { id: null, source: 'test' },
      size: { bytes: null, approx: null, source: 'test' },
      usedBy: ['tests'],
      counts: { split: 'train', documents: 6, queries: 3, relevant: 4, source: 'test' },
      ...over,
    },
    'nano-tiny.json',
  );
}

let hub: FakeHub;
const tmpRoots: string[] = [];
function tmpRoot(): string {
  const d = tmpDir('fetch');
  tmpRoots.push(d);
  return d;
}

before(async () => {
  hub = await startFakeHub(REPO, 'dataset', FILES);
});
after(async () => {
  await hub.close();
  for (const d of tmpRoots) fs.rmSync(d, { recursive: true, force: true });
});

function cdnRequests(file: string) {
  return hub.log.filter((r) => r.path === `/cdn/${encodeURIComponent(file)}`);
}

test('fetch lists the repository, downloads every selected file, records sha256 and commit in the lock; verify passes', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const r = await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url });
  assert.equal(r.downloaded.length, 4);
  const lock = readLock('nano-tiny', root)!;
  assert.equal(lock.origin, 'hub');
  assert.equal(lock.sources![0].commit, COMMIT);
  for (const [p, f] of Object.entries(FILES)) {
    assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(root, 'nano-tiny', p))), f.bytes, p);
    assert.equal(lock.files[p].sha256, sha256(f.bytes));
    assert.equal(lock.files[p].checkedAgainst, 'hub');
  }
  assert.equal(fs.readdirSync(path.join(root, 'nano-tiny', 'extra')).some((n) => n.endsWith('.part')), false);
  const v = await verifyData(manifest(), { root });
  assert.ok(v.ok, JSON.stringify(v.checks));
  assert.ok(v.checks.some((c) => c.what === 'documents: 6 (as expected)'));
  assert.ok(v.checks.some((c) => c.what === 'relevant judgments in train: 4 (as expected)'));

  // a second fetch downloads nothing
  const before = hub.log.length;
  const again = await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url });
  assert.equal(again.downloaded.length, 0);
  assert.equal(again.alreadyHere.length, 4);
  assert.equal(hub.log.slice(before).filter((l) => l.path.startsWith('/cdn/')).length, 0);
});

test('an interrupted transfer is retried with an HTTP Range request for the missing bytes only', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'extra/blob.bin';
  const start = cdnRequests(file).length;
  hub.cutOnce.set(file, 100_000);
  await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file] });
  const reqs = cdnRequests(file).slice(start);
  assert.equal(reqs.length, 2, JSON.stringify(reqs));
  assert.equal(reqs[0].range, null);
  assert.equal(reqs[1].range, 'bytes=100000-', 'resumes after the 100,000 bytes that arrived');
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(root, 'nano-tiny', file))), FILES[file].bytes);
});

test('a crashed download (no retries) keeps its part file, says how to resume, and the next run resumes it', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'extra/blob.bin';
  const dest = path.join(root, 'nano-tiny', file);
  hub.cutOnce.set(file, 120_000);
  await assert.rejects(
    fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file], retries: 0 }),
    (e: Error) => e instanceof UserError && /run the same command again to resume/.test(e.message) && !e.message.includes('\n'),
  );
  assert.equal(fs.existsSync(dest), false, 'no final file from a partial transfer');
  const kept = fs.statSync(`${dest}.part`).size;
  assert.equal(kept, 120_000, 'the part holds exactly what arrived');
  assert.equal(readLock('nano-tiny', root)?.files[file], undefined);

  const start = cdnRequests(file).length;
  await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file], retries: 0 });
  const reqs = cdnRequests(file).slice(start);
  assert.deepEqual(reqs.map((r) => r.range), [`bytes=${kept}-`]);
  assert.deepEqual(new Uint8Array(fs.readFileSync(dest)), FILES[file].bytes);
  assert.equal(fs.existsSync(`${dest}.part`), false);
  assert.equal(readLock('nano-tiny', root)!.files[file].sha256, sha256(FILES[file].bytes));
});

test('a server that ignores Range makes the download start over, still correct', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'extra/blob.bin';
  hub.noRange.add(file);
  hub.cutOnce.set(file, 50_000);
  try {
    await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file] });
  } finally {
    hub.noRange.delete(file);
  }
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(root, 'nano-tiny', file))), FILES[file].bytes);
});

test('a 503 answer is retried; a 403 is not, and says what to do', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'queries/train-00000-of-00001.parquet';
  hub.failOnce.set(file, 503);
  await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file] });
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(root, 'nano-tiny', file))), FILES[file].bytes);
  hub.failOnce.set(file, 403);
  await assert.rejects(
    fetchData(manifest(), { ...OPTS, root: tmpRoot(), hubUrl: hub.url, only: [file] }),
    /^UserError: nano-tiny: queries\/train-00000-of-00001\.parquet: HTTP 403 from .*: access denied \(a gated repository: accept its terms on the Hub and set HF_TOKEN\)$/,
  );
});

test('a bad checksum is one error line naming the file; nothing is kept or locked', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'queries/train-00000-of-00001.parquet';
  hub.corrupt.add(file);
  try {
    await assert.rejects(fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url, only: [file] }), (e: Error) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /^nano-tiny: queries\/train-00000-of-00001\.parquet: checksum mismatch: sha256 [0-9a-f]{64}, expected [0-9a-f]{64}/);
      assert.ok(e.message.includes(sha256(FILES[file].bytes)));
      assert.ok(!e.message.includes('\n'));
      return true;
    });
  } finally {
    hub.corrupt.delete(file);
  }
  const dest = path.join(root, 'nano-tiny', file);
  assert.equal(fs.existsSync(dest), false);
  assert.equal(fs.existsSync(`${dest}.part`), false);
  assert.equal(readLock('nano-tiny', root), null);
});

test("a manifest checksum overrides the hub's: a mismatch with the manifest fails", { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const file = 'queries/train-00000-of-00001.parquet';
  const m = manifest({}, { include: [], files: [{ path: file, bytes: null, sha256: 'a'.repeat(64) }] });
  await assert.rejects(fetchData(m, { ...OPTS, root, hubUrl: hub.url }), /checksum mismatch: .* expected a{64}/);
});

test('404: a listed file the repository lacks, and a missing resolve URL, are one line each', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const m = manifest({}, { files: [{ path: 'corpus/nope.parquet', bytes: null, sha256: null }] });
  await assert.rejects(fetchData(m, { ...OPTS, root, hubUrl: hub.url }), /^UserError: nano-tiny: org\/NanoTiny@main has no file 'corpus\/nope\.parquet'/);
  const direct = manifest({}, { include: [], files: [{ path: 'nope.parquet', bytes: null, sha256: null }] });
  await assert.rejects(fetchData(direct, { ...OPTS, root, hubUrl: hub.url }), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.match(e.message, /^nano-tiny: nope\.parquet: HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/datasets\/org\/NanoTiny\/resolve\/main\/nope\.parquet: not found/);
    return true;
  });
  await assert.rejects(
    fetchData(manifest({}, { hub: 'org/Missing' }), { ...OPTS, root, hubUrl: hub.url }),
    /listing org\/Missing@main: HTTP 404/,
  );
});

// Nothing can listen on port 0, so a connection to it is refused every time (a port freed by a closed
// server could be taken by another process before the test connects).
const UNREACHABLE = 'http://127.0.0.1:0';

test('offline: an unreachable hub is one line that points to data import', { timeout: 20_000 }, async () => {
  await assert.rejects(fetchData(manifest(), { ...OPTS, root: tmpRoot(), hubUrl: UNREACHABLE }), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, `cannot reach ${UNREACHABLE} (ECONNREFUSED); for a copy you already have, run: colbert-zero data import nano-tiny PATH`);
    return true;
  });
});

test('a stalled server is abandoned after the idle timeout, keeping the part', { timeout: 20_000 }, async () => {
  const s = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': '1000' });
    res.write(Buffer.alloc(10)); // then nothing
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/f`;
  const dest = path.join(tmpRoot(), 'f');
  try {
    await assert.rejects(downloadFile({ url, dest, name: 'f' }, { idleTimeoutMs: 300, retries: 1, retryDelayMs: 5 }), /run the same command again to resume/);
  } finally {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  assert.equal(fs.statSync(`${dest}.part`).size, 10);
});

test('verify finds a changed and a missing file of a fetched copy', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url });
  const blob = path.join(root, 'nano-tiny', 'extra', 'blob.bin');
  const b = fs.readFileSync(blob);
  b[0] ^= 1;
  fs.writeFileSync(blob, b);
  fs.rmSync(path.join(root, 'nano-tiny', 'queries', 'train-00000-of-00001.parquet'));
  const v = await verifyData(manifest(), { root });
  assert.equal(v.ok, false);
  const bad = v.checks.filter((c) => !c.ok).map((c) => c.what);
  assert.ok(bad.some((w) => /^extra\/blob\.bin: sha256 [0-9a-f]{64}, the lock says/.test(w)), bad.join('\n'));
  assert.ok(bad.includes('queries/train-00000-of-00001.parquet: missing'), bad.join('\n'));
  assert.ok(bad.some((w) => /^queries: no file found/.test(w)), bad.join('\n'));
});

test('import copies into the cache and never touches the source', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const src = tmpRoot();
  for (const [p, f] of Object.entries(FILES)) {
    fs.mkdirSync(path.dirname(path.join(src, p)), { recursive: true });
    fs.writeFileSync(path.join(src, p), f.bytes);
  }
  const stamp = (p: string) => fs.statSync(path.join(src, p)).mtimeMs;
  const before = Object.keys(FILES).map(stamp);
  const r = await importData(manifest(), src, { root });
  assert.equal(r.files, 4);
  assert.deepEqual(Object.keys(FILES).map(stamp), before);
  const copy = path.join(root, 'nano-tiny', 'extra', 'blob.bin');
  fs.writeFileSync(copy, 'changed');
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(src, 'extra', 'blob.bin'))), FILES['extra/blob.bin'].bytes, 'the copy is independent');
  for (const p of Object.keys(FILES)) assert.ok(fs.existsSync(path.join(src, p)), 'source kept');
  const lock = readLock('nano-tiny', root)!;
  assert.equal(lock.origin, 'import');
  assert.equal(lock.files['corpus/train-00000-of-00001.parquet'].sha256, sha256(FILES['corpus/train-00000-of-00001.parquet'].bytes));
  // a fetch over an imported copy refuses rather than mixing sources
  await assert.rejects(fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url }), /holds an imported copy/);
});

/** Runs the CLI without blocking this process's event loop (the fake hub lives here). */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs'), ...args], { env: { ...process.env, CZ_PROGRESS: '0', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('the CLI: data fetch downloads and verifies; offline it fails in one line pointing to data import', { timeout: 60_000 }, async () => {
  const dir = tmpRoot();
  const manifests = path.join(dir, 'manifests');
  fs.mkdirSync(manifests);
  const m = manifest();
  fs.writeFileSync(path.join(manifests, 'nano-tiny.json'), JSON.stringify(m));
  const env = { CZ_HUB_URL: hub.url, CZ_DATA_DIR: path.join(dir, 'cache'), CZ_MANIFESTS_DIR: manifests };
  const r = await cli(['data', 'fetch', 'nano-tiny'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nano-tiny: 4 files downloaded \(\d+ bytes\), 0 already in the cache/);
  assert.match(r.stdout, /ok {4}documents: 6 \(as expected\)/);
  assert.match(r.stdout, /\nverified\n$/);
  const v = await cli(['data', 'verify', 'nano-tiny'], env);
  assert.equal(v.code, 0, v.stderr);
  const list = await cli(['data', 'list'], env);
  assert.match(list.stdout, /\nnano-tiny +nanobeir +nanobeir +unknown +see card +fetched +tests\n/);

  const off = await cli(['data', 'fetch', 'nano-tiny'], { ...env, CZ_HUB_URL: UNREACHABLE, CZ_DATA_DIR: path.join(dir, 'cache2') });
  assert.equal(off.code, 1);
  assert.equal(off.stdout, '');
  assert.equal(off.stderr, `colbert-zero: error: cannot reach ${UNREACHABLE} (ECONNREFUSED); for a copy you already have, run: colbert-zero data import nano-tiny PATH\n`);
});

test('the CLI sends HF_TOKEN to the hub and never to the host a download redirects to', { timeout: 60_000 }, async () => {
  const twoHosts = await startFakeHub(REPO, 'dataset', FILES, { separateCdn: true });
  try {
    const dir = tmpRoot();
    const manifests = path.join(dir, 'manifests');
    fs.mkdirSync(manifests);
    fs.writeFileSync(path.join(manifests, 'nano-tiny.json'), JSON.stringify(manifest()));
    const r = await cli(['data', 'fetch', 'nano-tiny'], { CZ_HUB_URL: twoHosts.url, CZ_DATA_DIR: path.join(dir, 'cache'), CZ_MANIFESTS_DIR: manifests, HF_TOKEN: 'hf_secret_of_the_test' });
    assert.equal(r.code, 0, r.stderr);
    for (const [p, f] of Object.entries(FILES)) assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, 'cache', 'nano-tiny', p))), f.bytes, p);
    const hubSide = twoHosts.log.filter((l) => l.server === 'hub');
    const cdnSide = twoHosts.log.filter((l) => l.server === 'cdn');
    assert.ok(hubSide.some((l) => l.path.startsWith('/api/')) && hubSide.some((l) => l.path.includes('/resolve/')), 'the listing and resolve requests went to the hub');
    assert.ok(hubSide.every((l) => l.authorization === 'Bearer hf_secret_of_the_test'), 'every hub request carries the token');
    assert.equal(cdnSide.length, Object.keys(FILES).length, 'each file came from the other host');
    assert.deepEqual(cdnSide.map((l) => l.authorization), cdnSide.map(() => null), 'the token never reaches the other host');
    assert.ok(!r.stdout.includes('hf_secret_of_the_test') && !r.stderr.includes('hf_secret_of_the_test'), 'the token is never printed');
  } finally {
    await twoHosts.close();
  }
});

test('one writer per copy: a fetch while another runs stops in one line; a claim left by a dead process is taken over', { timeout: 20_000 }, async () => {
  const root = tmpRoot();
  const busy = path.join(root, 'locks', 'nano-tiny.busy');
  fs.mkdirSync(path.dirname(busy), { recursive: true });
  fs.writeFileSync(busy, String(process.pid)); // a live process holds it
  await assert.rejects(fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url }), (e: Error) => {
    assert.ok(e instanceof UserError);
    assert.equal(e.message, `nano-tiny: its copy in the cache is in use by another run (process ${process.pid}); wait for it to end or stop it (if none is running, remove ${busy})`);
    return true;
  });
  await assert.rejects(importData(manifest(), root + '/locks', { root }), /in use by another run/);
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that has exited
  fs.writeFileSync(busy, String(gone));
  const r = await fetchData(manifest(), { ...OPTS, root, hubUrl: hub.url });
  assert.equal(r.downloaded.length, 4);
  assert.equal(fs.existsSync(busy), false, 'released after the fetch');
});
