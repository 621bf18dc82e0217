import { test, after } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { loadManifest, loadManifests, MANIFESTS_DIR } from '../lib/data/manifests/load';
import { parquetInfo, readParquetRows } from '../lib/data/parquet';
import { globToRegExp } from '../lib/data/store';
import { importData } from '../lib/data/import-data';
import { verifyData } from '../lib/data/verify';
import { UserError } from '../lib/util/errors';
import { runCli } from './helpers/cli';
import { PROJECT_ROOT, sharedPaperDir, sharedPath, skipWithoutShared } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const tmp = tmpDir('manifests');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const all = loadManifests();
const byId = new Map(all.map((m) => [m.id, m]));
const hubIds = (group: string) => all.filter((m) => m.group === group).flatMap((m) => m.sources.map((s) => s.hub));

test('every committed manifest validates, and they cover what the paper uses', () => {
  assert.equal(all.length, 40); // 3 training sets, 15 BEIR, 13 NanoBEIR, 9 checkpoints
  assert.equal(new Set(all.map((m) => m.id)).size, all.length);
  assert.deepEqual(hubIds('training-data').sort(), ['lightonai/ms-marco-en-bge-gemma', 'nomic-ai/nomic-embed-supervised', 'nomic-ai/nomic-embed-unsupervised-data']);
  assert.equal(all.filter((m) => m.group === 'beir').length, 15);
  assert.equal(byId.get('beir-cqadupstack')!.sources.length, 12);
  const nano = hubIds('nanobeir');
  assert.equal(nano.length, 13);
  assert.ok(nano.every((h) => /^zeta-alpha-ai\/Nano/.test(h)));
  assert.deepEqual(hubIds('checkpoint').sort(), [
    'Alibaba-NLP/gte-modernbert-base',
    'answerdotai/ModernBERT-base',
    'lightonai/ColBERT-Zero',
    'lightonai/ColBERT-Zero-noprompts',
    'lightonai/ColBERT-Zero-supervised',
    'lightonai/ColBERT-Zero-unsupervised',
    'lightonai/GTE-ModernColBERT-v1',
    'nomic-ai/modernbert-embed-base',
    'nomic-ai/modernbert-embed-base-unsupervised',
  ]);
  for (const m of all) {
    assert.ok(m.usedBy.length > 0 && m.licence.source && m.size.source, m.id);
    if (m.kind === 'dataset' && m.group !== 'training-data') assert.ok(m.counts, `${m.id} has counts`);
    // nothing invented: every checksum given is a real sha256, most are null until the first fetch
    for (const s of m.sources) for (const f of s.files) assert.ok(f.sha256 === null || /^[0-9a-f]{64}$/.test(f.sha256));
  }
});

test("numbers attributed to the paper's tables appear in the paper's text", (t) => {
  const paperFile = path.join(sharedPaperDir() ?? '', '003_d8f956b6997fd97c.txt');
  if (!fs.existsSync(paperFile)) return t.skip('the paper text is not beside the project (set CZ_SHARED_PAPER)');
  const paper = fs.readFileSync(paperFile, 'utf8');
  const rows = paper.split('\n').map((l) => l.split('\t'));
  const table2 = rows.filter((r) => r.length === 17);
  const header = table2.find((r) => r[0] === 'Model')!;
  let checked = 0;
  for (const m of all) {
    for (const f of m.facts.filter((x) => /Table 2/.test(x.source))) {
      const col = /column (\S+)/.exec(f.source)?.[1] ?? 'Avg';
      const i = header.indexOf(col);
      assert.ok(i > 0, `${m.id}: column ${col} is in Table 2`);
      for (const n of f.fact.match(/\d+\.\d\d/g) ?? []) {
        assert.ok(table2.some((r) => r[i] === n), `${m.id}: ${n} is in Table 2 column ${col}`);
        checked++;
      }
    }
    for (const f of m.facts.filter((x) => /Table 1/.test(x.source))) {
      const phase = f.fact.split(' ')[0];
      const row = rows.find((r) => r[0] === phase && r.length === 7)!;
      for (const cell of row.slice(1)) assert.ok(f.fact.includes(cell), `${m.id}: Table 1 ${phase} ${cell}`);
      checked++;
    }
  }
  assert.ok(checked >= 30, `checked ${checked}`);
});

function bad(name: string, value: unknown, raw?: string): string {
  const file = path.join(tmp, `${name}.json`);
  fs.writeFileSync(file, raw ?? JSON.stringify(value));
  try {
    loadManifest(file);
  } catch (e) {
    assert.ok(e instanceof UserError, String(e));
    assert.ok(!e.message.includes('\n'), e.message);
    assert.ok(e.message.startsWith(`${file}: `), e.message);
    return e.message.slice(file.length + 2);
  }
  assert.fail(`${name}: accepted`);
}

test('a bad manifest is one error line naming the file and the key', () => {
  const good = JSON.parse(fs.readFileSync(path.join(MANIFESTS_DIR, 'beir-scifact.json'), 'utf8'));
  const clone = () => JSON.parse(JSON.stringify(good));
  let m = clone();
  delete m.licence;
  assert.match(bad('beir-scifact', m), /^licence: /);
  m = clone();
  m.sources[0].files = [{ path: 'a.parquet', bytes: null, sha256: 'abc' }];
  assert.equal(bad('beir-scifact', m), 'sources.0.files.0.sha256: must be 64 lowercase hex digits or null');
  m = clone();
  m.sources[0].files = [{ path: '../a', bytes: null, sha256: null }];
  assert.match(bad('beir-scifact', m), /^sources\.0\.files\.0\.path: must be a relative/);
  m = clone();
  m.colour = 'blue';
  assert.equal(bad('beir-scifact', m), 'colour: unknown key');
  m = clone();
  m.format = 'csv';
  assert.match(bad('beir-scifact', m), /^format: /);
  m = clone();
  m.counts.documents = -1;
  assert.match(bad('beir-scifact', m), /^counts\.documents: /);
  assert.equal(bad('other-name', clone()), 'id: "beir-scifact" must match the file name ("other-name")');
  assert.match(bad('broken', null, '{"id": '), /^malformed JSON/);
  m = clone();
  m.sources[0].include = [];
  assert.equal(bad('beir-scifact', m), 'sources.0.files: a source needs files or include patterns');
});

test('globs: * stays within a path part, ** crosses parts', () => {
  assert.ok(globToRegExp('**/*.parquet').test('a.parquet'));
  assert.ok(globToRegExp('**/*.parquet').test('corpus/x/a.parquet'));
  assert.ok(!globToRegExp('*.json').test('1_Dense/config.json'));
  assert.ok(globToRegExp('1_*/**').test('1_Dense/model.safetensors'));
  assert.ok(!globToRegExp('data/*.parquet').test('data/x/a.parquet'));
  assert.ok(globToRegExp('a.b?').test('a.bc') && !globToRegExp('a.b?').test('axbc'));
});

test('parquet: rows and columns read back through hyparquet; a non-parquet file is one line', async () => {
  const file = path.join(tmp, 'x.parquet');
  fs.writeFileSync(file, new Uint8Array(parquetWriteBuffer({ columnData: [{ name: 'query_id', data: ['q1', 'q2', 'q3'], type: 'STRING' }, { name: 'n', data: [1, 2, 3], type: 'INT32' }] })));
  assert.deepEqual(await parquetInfo(file), { rows: 3, columns: ['query_id', 'n'] });
  assert.deepEqual(await readParquetRows(file, { rowStart: 1, rowEnd: 3 }), [{ query_id: 'q2', n: 2 }, { query_id: 'q3', n: 3 }]);
  await assert.rejects(readParquetRows(file, { columns: ['text'] }), /no column "text" \(has query_id, n\)/);
  const notPq = path.join(tmp, 'y.parquet');
  fs.writeFileSync(notPq, 'hello, not parquet');
  await assert.rejects(parquetInfo(notPq), (e: Error) => e instanceof UserError && /^.*y\.parquet: not a readable parquet file/.test(e.message));
});

test('data list shows every manifest and survives a pipe that closes early', () => {
  const env = { CZ_DATA_DIR: path.join(tmp, 'cache') };
  const r = runCli(['data', 'list'], { env });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, all.length + 1);
  for (const m of all) assert.ok(lines.some((l) => l.startsWith(`${m.id} `)), m.id);
  const j = runCli(['data', 'list', '--json'], { env });
  assert.deepEqual((JSON.parse(j.stdout) as Array<{ id: string }>).map((m) => m.id), all.map((m) => m.id));
  const bin = path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs');
  const piped = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" data list | head -n 2`], {
    env: { ...process.env, ...env, CZ_PROGRESS: '0' },
    encoding: 'utf8',
  });
  assert.equal(piped.stdout.split('\n')[1].split(/\s+/)[0], all[0].id);
  assert.equal(piped.stderr, '', 'no EPIPE noise');
  const full = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" data list | cat`], { env: { ...process.env, ...env, CZ_PROGRESS: '0' }, encoding: 'utf8' });
  assert.equal(full.stdout, r.stdout, 'the whole table reaches a pipe');
  // more than a pipe holds (the JSON is ~80 kB), read 20 bytes of it: no EPIPE error, exit 0
  const early = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" data list --json | head -c 20 >/dev/null; echo \${PIPESTATUS[0]}`], {
    env: { ...process.env, ...env, CZ_PROGRESS: '0' },
    encoding: 'utf8',
  });
  assert.equal(early.stdout.trim(), '0');
  assert.equal(early.stderr, '');
});

test('data verify before any copy, and an unknown id, are one line each', () => {
  const env = { CZ_DATA_DIR: path.join(tmp, 'cache') };
  const v = runCli(['data', 'verify', 'beir-arguana'], { env });
  assert.equal(v.code, 1);
  assert.match(v.stderr, /^colbert-zero: error: 'beir-arguana' is not in the cache .*run colbert-zero data fetch beir-arguana, or data import beir-arguana PATH\n$/);
  const u = runCli(['data', 'fetch', 'scifact'], { env });
  assert.equal(u.code, 1);
  assert.match(u.stderr, /^colbert-zero: error: no data manifest with id 'scifact' .*did you mean beir-scifact, nanobeir-scifact\?\n$/);
});

test('import + verify a BEIR folder (the shared SciFact): counts match the manifest, the source is untouched', { skip: skipWithoutShared('beir', 'scifact', 'corpus.jsonl') }, () => {
  const src = path.dirname(sharedPath('beir', 'scifact', 'corpus.jsonl')!);
  const before = fs.statSync(path.join(src, 'corpus.jsonl')).mtimeMs;
  const env = { CZ_DATA_DIR: path.join(tmp, 'cache') };
  const r = runCli(['data', 'import', 'beir-scifact', src], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok {4}documents: 5183 \(as expected\)/);
  assert.match(r.stdout, /ok {4}queries judged in test: 300 \(as expected\)/);
  assert.match(r.stdout, /ok {4}relevant judgments in test: 339 \(as expected\)/);
  assert.equal(fs.statSync(path.join(src, 'corpus.jsonl')).mtimeMs, before);
  const v = runCli(['data', 'verify', 'beir-scifact'], { env });
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /files match their locked sizes and sha256/);
  assert.match(v.stdout, /\nverified\n$/);
  // the same folder is not NFCorpus: its counts say so, and the exit code is 1
  const wrong = runCli(['data', 'import', 'beir-nfcorpus', src], { env });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stdout, /FAIL {2}documents: 5183, expected 3633/);
  assert.equal(wrong.stderr.trim().split('\n').length, 1);
});

function safetensors(values: number[]): Buffer {
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [values.length], data_offsets: [0, values.length * 4] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([len, header, Buffer.from(new Float32Array(values).buffer)]);
}

test('verify a checkpoint copy: config, modules.json and safetensors headers; a truncated file fails', async () => {
  const src = fs.mkdtempSync(path.join(tmp, 'ckpt-'));
  fs.writeFileSync(path.join(src, 'config.json'), JSON.stringify({ model_type: 'modernbert' }));
  fs.writeFileSync(path.join(src, 'modules.json'), '[]');
  fs.writeFileSync(path.join(src, 'tokenizer.json'), '{}');
  fs.writeFileSync(path.join(src, 'model.safetensors'), safetensors([1, 2, 3, 4]));
  fs.mkdirSync(path.join(src, '1_Dense'));
  fs.writeFileSync(path.join(src, '1_Dense', 'model.safetensors'), safetensors([5, 6]));
  const root = path.join(tmp, 'ckpt-cache');
  // The file checks only: this toy has not the manifest's architecture (checked in test/safety-commands.test.ts).
  const m = { ...byId.get('colbert-zero')!, architecture: undefined };
  const r = await importData(m, src, { root });
  assert.ok(r.imported && r.verify.ok, JSON.stringify(r.verify.checks));
  assert.ok(r.verify.checks.some((c) => c.what === 'config.json: model_type modernbert'));
  assert.ok(r.verify.checks.some((c) => c.what === '1_Dense/model.safetensors: safetensors header and size consistent'));
  assert.ok((await verifyData(m, { root })).ok);
  fs.writeFileSync(path.join(src, 'model.safetensors'), safetensors([1, 2, 3, 4]).subarray(0, -3));
  fs.rmSync(path.join(src, 'modules.json'));
  const bad = await importData(m, src, { root });
  assert.equal(bad.imported, false);
  assert.equal(bad.verify.ok, false);
  const failed = bad.verify.checks.filter((c) => !c.ok).map((c) => c.what);
  assert.ok(failed.some((w) => /^model\.safetensors: tensors end at byte \d+ but the file has \d+ \(truncated\?\)$/.test(w)), failed.join('\n'));
  assert.ok(failed.includes('modules.json: missing (a pylate model has one)'), failed.join('\n'));
  assert.ok((await verifyData(m, { root })).ok, 'the copy that did not verify never replaced the good one');
});

test('verify a distillation copy: the three configs, their columns, candidates with one score each', async () => {
  const src = fs.mkdtempSync(path.join(tmp, 'kd-'));
  const put = (rel: string, columnData: Array<{ name: string; data: unknown[] }>) => {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), new Uint8Array(parquetWriteBuffer({ columnData: columnData as never })));
  };
  put('train/train-00000-of-00001.parquet', [
    { name: 'query_id', data: ['1', '2'] },
    { name: 'document_ids', data: [['a', 'b', 'c'], ['c', 'd', 'e']] },
    { name: 'scores', data: [[0.5, 0.2, 0.1], [0.1, 0.3, 0.2]] },
  ]);
  put('queries/train-00000-of-00001.parquet', [{ name: 'query_id', data: ['1', '2'] }, { name: 'text', data: ['q one', 'q two'] }]);
  put('documents/train-00000-of-00001.parquet', [{ name: 'document_id', data: ['a', 'b', 'c', 'd', 'e'] }, { name: 'text', data: ['1', '2', '3', '4', '5'] }]);
  const root = path.join(tmp, 'kd-cache');
  const m = byId.get('ms-marco-en-bge-gemma')!;
  assert.ok((await importData(m, src, { root })).imported);
  const v = await verifyData(m, { root });
  assert.ok(v.ok, JSON.stringify(v.checks));
  const what = v.checks.map((c) => c.what);
  assert.ok(what.includes('train/train-00000-of-00001.parquet: first 2 rows carry 3-3 candidates, one score each'), what.join('\n'));
  assert.ok(what.includes('documents rows: 5 in 1 parquet file'), what.join('\n'));
  assert.ok(what.includes('train rows: 2 in 1 parquet file'), what.join('\n'));
  // a documents file without its text column fails, naming the file and the column
  put('documents/train-00000-of-00001.parquet', [{ name: 'document_id', data: ['a'] }]);
  const bad = (await importData(m, src, { root })).verify;
  assert.ok(bad.checks.some((c) => !c.ok && c.what === 'documents/train-00000-of-00001.parquet: missing column text (has document_id)'), JSON.stringify(bad.checks));
});
