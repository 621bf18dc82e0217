/**
 * `data convert`: the paper's training sets, as parquet files in the Hub's column layouts (made here with
 * hyparquet-writer, several row groups each), to the JSONL the export-pylate scripts read. The fields of
 * each line are checked against the column lists the exported scripts pass to load_sources, so a change on
 * either side fails here. Also: one line naming the file and the column when a column is missing, the
 * --columns mapping, rows left out and counted, the output folder written whole or not at all and never
 * over a user's folder, the inputs only read, and the CLI on a cache copy.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { convertTrainingData, sourceOf, type ConvertOptions } from '../lib/data/convert';
import { verifyData } from '../lib/data/verify';
import { importData } from '../lib/data/import-data';
import { loadManifests } from '../lib/data/manifests/load';
import { OUTPUT_MARKER } from '../lib/util/output';
import { planPylateExport } from '../lib/pipelines/export-pylate';
import { runCli } from './helpers/cli';
import { tmpDir } from './helpers/tmp';

const tmp = tmpDir('convert');
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const byId = new Map(loadManifests().map((m) => [m.id, m]));

type Column = { name: string; data: unknown[]; type?: string };

/** A parquet file under `dir`, `rowGroupSize` rows per row group (so the reader streams several). */
function put(dir: string, rel: string, columnData: Column[], rowGroupSize = 2): void {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), new Uint8Array(parquetWriteBuffer({ columnData: columnData as never, rowGroupSize })));
}

function newDir(name: string): string {
  return fs.mkdtempSync(path.join(tmp, `${name}-`));
}

function jsonl(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every file under `dir` with its bytes: the inputs must read back the same after a conversion. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(path.join(e.parentPath, e.name), fs.readFileSync(path.join(e.parentPath, e.name)).toString('base64'));
  }
  return out;
}

/** The JSONL fields each exported script asks load_sources for (lib/pipelines/pylate-scripts.ts, DATA). */
const scriptFields = (() => {
  const { files } = planPylateExport({ pipeline: 'c', preset: 'smoke' });
  const script = [...files.entries()].find(([name]) => /kd/.test(name) && name.endsWith('.py'))![1];
  const list = (re: RegExp): string[] => {
    const m = re.exec(script);
    assert.ok(m, `the exported script has ${re}`);
    return JSON.parse(m[1]) as string[];
  };
  return {
    unsupervised: list(/if PHASE\["objective"\] == "unsupervised":\s+return load_sources\(files, (\[[^\]]*\])\)/),
    supervised: list(/return load_sources\(files, (\[[^\]]*\]), prepare\), \["query"\]/),
    distillation: list(/def distillation_sources[\s\S]*?return load_sources\(files, (\[[^\]]*\]), prepare\)/),
  };
})();

function convert(id: string, o: Omit<ConvertOptions, 'manifest'>) {
  return convertTrainingData({ manifest: byId.get(id)!, ...o });
}

test('the exported scripts read these fields (what the JSONL must carry)', () => {
  assert.deepEqual(scriptFields.unsupervised, ['query', 'document']);
  assert.deepEqual(scriptFields.supervised, ['query', 'positive', 'negatives']);
  assert.deepEqual(scriptFields.distillation, ['query', 'documents', 'scores']);
});

test('a Nomic file belongs to its split: the name without the shard suffix, else its folder', () => {
  assert.equal(sourceOf('data/amazon_reviews-00003-of-00159.parquet'), 'amazon_reviews');
  assert.equal(sourceOf('data/msmarco_distillation_simlm_rescored_reranked_min15-00000-of-00004.parquet'), 'msmarco_distillation_simlm_rescored_reranked_min15');
  assert.equal(sourceOf('default/fever_hn_mine/0000.parquet'), 'fever_hn_mine');
  assert.equal(sourceOf('fever_hn_mine/train-00000-of-00002.parquet'), 'fever_hn_mine');
  assert.equal(sourceOf('paq.parquet'), 'paq');
});

test('unsupervised pairs: one JSONL per source, rows in file and row-group order, the extra columns dropped, a null row left out and counted', async () => {
  const src = newDir('unsup');
  const pairs = (tag: string, n: number) => [
    { name: 'query', data: Array.from({ length: n }, (_, i) => `${tag} query ${i} "quoted"\nline`), type: 'STRING' },
    { name: 'document', data: Array.from({ length: n }, (_, i) => `${tag} document ${i} — ünïcode`), type: 'STRING' },
    { name: 'dataset', data: Array.from({ length: n }, () => tag), type: 'STRING' },
    { name: 'shard', data: Array.from({ length: n }, (_, i) => i), type: 'INT32' },
  ];
  put(src, 'data/reddit_title_body-00000-of-00002.parquet', pairs('r0', 5));
  put(src, 'data/reddit_title_body-00001-of-00002.parquet', pairs('r1', 2));
  const amazon = pairs('a', 3);
  (amazon[1].data as unknown[])[1] = null;
  put(src, 'data/amazon_reviews-00000-of-00001.parquet', amazon);
  const before = snapshot(src);
  const out = path.join(tmp, 'unsup-out');
  const r = await convert('nomic-embed-unsupervised-data', { from: src, out });

  assert.deepEqual(snapshot(src), before, 'the inputs are only read');
  assert.deepEqual(fs.readdirSync(out).sort(), [OUTPUT_MARKER, 'amazon_reviews.jsonl', 'conversion.json', 'reddit_title_body.jsonl'].sort());
  const reddit = jsonl(path.join(out, 'reddit_title_body.jsonl'));
  assert.deepEqual(
    reddit.map((l) => l.query),
    [...[0, 1, 2, 3, 4].map((i) => `r0 query ${i} "quoted"\nline`), ...[0, 1].map((i) => `r1 query ${i} "quoted"\nline`)],
  );
  assert.equal(reddit[6].document, 'r1 document 1 — ünïcode');
  for (const l of reddit) assert.deepEqual(Object.keys(l), scriptFields.unsupervised);
  const am = jsonl(path.join(out, 'amazon_reviews.jsonl'));
  assert.deepEqual(am, [
    { query: 'a query 0 "quoted"\nline', document: 'a document 0 — ünïcode' },
    { query: 'a query 2 "quoted"\nline', document: 'a document 2 — ünïcode' },
  ]);
  assert.deepEqual(
    r.files.map((f) => [f.file, f.lines, f.skipped, f.inputs.length]),
    [
      ['amazon_reviews.jsonl', 2, 1, 1],
      ['reddit_title_body.jsonl', 7, 0, 2],
    ],
  );
  assert.equal(r.objective, 'unsupervised');
  assert.deepEqual((JSON.parse(fs.readFileSync(path.join(out, 'conversion.json'), 'utf8')) as { files: unknown }).files, r.files);
});

test('output larger than one write block (4 MB) arrives whole and in order', async () => {
  const src = newDir('big');
  const big = (i: number) => `${i}:` + 'x'.repeat(1_500_000);
  put(src, 'data/wikipedia-00000-of-00001.parquet', [
    { name: 'query', data: [0, 1, 2, 3, 4].map((i) => `q${i}`), type: 'STRING' },
    { name: 'document', data: [0, 1, 2, 3, 4].map(big), type: 'STRING' },
  ]);
  const out = path.join(tmp, 'big-out');
  await convert('nomic-embed-unsupervised-data', { from: src, out });
  assert.deepEqual(jsonl(path.join(out, 'wikipedia.jsonl')), [0, 1, 2, 3, 4].map((i) => ({ query: `q${i}`, document: big(i) })));
});

test('supervised triplets: document becomes positive, the negative list stays whole; a missing column is one line naming the file and the column; --columns names another', async () => {
  const src = newDir('sup');
  put(src, 'data/fever_hn_mine-00000-of-00001.parquet', [
    { name: 'query', data: ['q0', 'q1', 'q2'] },
    { name: 'document', data: ['pos0', 'pos1', 'pos2'] },
    { name: 'negative', data: [['n00', 'n01', 'n02'], ['n10', 'n11'], ['n20', 'n21', 'n22', 'n23']] },
    { name: 'dataset', data: ['fever', 'fever', 'fever'] },
  ]);
  const out = path.join(tmp, 'sup-out');
  const r = await convert('nomic-embed-supervised', { from: src, out });
  const lines = jsonl(path.join(out, 'fever_hn_mine.jsonl'));
  assert.deepEqual(lines[1], { query: 'q1', positive: 'pos1', negatives: ['n10', 'n11'] });
  for (const l of lines) assert.deepEqual(Object.keys(l), scriptFields.supervised);
  assert.equal(r.files[0].minNegatives, 2);

  // a split without the negative column: nothing is written, the error names the file and the column
  const bad = newDir('sup-bad');
  put(bad, 'data/reddit_triples-00000-of-00001.parquet', [
    { name: 'query', data: ['q'] },
    { name: 'document', data: ['d'] },
    { name: 'hard_negatives', data: [['x', 'y']] },
  ]);
  const file = path.join(bad, 'data/reddit_triples-00000-of-00001.parquet');
  const badOut = path.join(tmp, 'sup-bad-out');
  await assert.rejects(convert('nomic-embed-supervised', { from: bad, out: badOut }), {
    message: `${file}: no column "negative" (has query, document, hard_negatives) (name another column with --columns ROLE=COLUMN)`,
  });
  assert.equal(fs.existsSync(badOut), false);
  await convert('nomic-embed-supervised', { from: bad, out: badOut, columns: { negatives: 'hard_negatives' } });
  assert.deepEqual(jsonl(path.join(badOut, 'reddit_triples.jsonl')), [{ query: 'q', positive: 'd', negatives: ['x', 'y'] }]);
  await assert.rejects(convert('nomic-embed-supervised', { from: bad, out: path.join(tmp, 'x'), columns: { negative: 'hard_negatives' } }), /--columns negative=hard_negatives: no such role for triplets-parquet \(roles: query, positive, negatives\)/);
});

test('--source-column: a copy that keeps every source in one split is split by its dataset column', async () => {
  const src = newDir('mirror');
  put(src, 'data/train-00000-of-00002.parquet', [
    { name: 'query', data: ['f0', 'n0', 'f1'] },
    { name: 'document', data: ['F0', 'N0', 'F1'] },
    { name: 'negative', data: [['x'], ['y', 'z'], ['w']] },
    { name: 'dataset', data: ['fever_hn_mine', 'nq/cocondensor', 'fever_hn_mine'] },
  ]);
  put(src, 'data/train-00001-of-00002.parquet', [
    { name: 'query', data: ['n1'] },
    { name: 'document', data: ['N1'] },
    { name: 'negative', data: [['v']] },
    { name: 'dataset', data: ['nq/cocondensor'] },
  ]);
  // by file name alone both files are the split "train": one file, the sources mixed
  const one = await convert('nomic-embed-supervised', { from: src, out: path.join(tmp, 'mirror-one') });
  assert.deepEqual(one.files.map((f) => [f.file, f.lines]), [['train.jsonl', 4]]);
  const r = await convert('nomic-embed-supervised', { from: src, out: path.join(tmp, 'mirror-out'), sourceColumn: 'dataset' });
  assert.deepEqual(
    r.files.map((f) => [f.file, f.lines, f.inputs]),
    [
      ['fever_hn_mine.jsonl', 2, ['data/train-00000-of-00002.parquet']],
      ['nq_cocondensor.jsonl', 2, ['data/train-00000-of-00002.parquet', 'data/train-00001-of-00002.parquet']],
    ],
  );
  assert.deepEqual(jsonl(path.join(tmp, 'mirror-out', 'nq_cocondensor.jsonl')), [
    { query: 'n0', positive: 'N0', negatives: ['y', 'z'] },
    { query: 'n1', positive: 'N1', negatives: ['v'] },
  ]);
  await assert.rejects(convert('nomic-embed-supervised', { from: src, out: path.join(tmp, 'mirror-2'), sourceColumn: 'source' }), /no column "source" \(has query, document, negative, dataset\)/);
});

test('distillation: queries and documents joined by id (string ids), candidates in order with their scores; an unknown id leaves its row out; no spool is left', async () => {
  const src = newDir('kd');
  put(src, 'train/train-00000-of-00001.parquet', [
    { name: 'query_id', data: ['q1', 'q2', 'q3', 'q4'] },
    { name: 'document_ids', data: [['d3', 'd1', 'd2'], ['d2', 'd5', 'd4'], ['d1', 'missing', 'd2'], ['d5', 'd4', 'd3']] },
    { name: 'scores', data: [[0.5, 0.25, 0.125], [1.5, -2, 0], [1, 1, 1], [3, 2, 1]] },
  ]);
  put(src, 'queries/train-00000-of-00001.parquet', [
    { name: 'query_id', data: ['q4', 'q2', 'q1', 'q3'] },
    { name: 'text', data: ['fourth?', 'second?', 'first?', 'third?'] },
  ]);
  put(src, 'documents/train-00000-of-00002.parquet', [
    { name: 'document_id', data: ['d1', 'd2', 'd3'] },
    { name: 'text', data: ['one', 'two', 'thrée'] },
  ]);
  put(src, 'documents/train-00001-of-00002.parquet', [
    { name: 'document_id', data: ['d4', 'd5'] },
    { name: 'text', data: ['four', 'five'] },
  ]);
  const out = path.join(tmp, 'kd-out');
  const r = await convert('ms-marco-en-bge-gemma', { from: src, out });
  assert.deepEqual(fs.readdirSync(out).sort(), [OUTPUT_MARKER, 'conversion.json', 'ms-marco-en-bge-gemma.jsonl'].sort(), 'the spool files are gone');
  const lines = jsonl(path.join(out, 'ms-marco-en-bge-gemma.jsonl'));
  assert.deepEqual(lines, [
    { query: 'first?', documents: ['thrée', 'one', 'two'], scores: [0.5, 0.25, 0.125] },
    { query: 'second?', documents: ['two', 'five', 'four'], scores: [1.5, -2, 0] },
    { query: 'fourth?', documents: ['five', 'four', 'thrée'], scores: [3, 2, 1] },
  ]);
  for (const l of lines) assert.deepEqual(Object.keys(l), scriptFields.distillation);
  assert.deepEqual([r.files[0].lines, r.files[0].skipped, r.files[0].candidates], [3, 1, [3, 3]]);
});

test("distillation: numeric ids (MS MARCO's) and files told apart by their columns, not their names", async () => {
  const src = newDir('kd-num');
  // the file names of lightonai/ms-marco-en-bge (the same layout with another teacher)
  put(src, 'dataset.parquet', [
    { name: 'query_id', data: [7, 3], type: 'INT32' },
    { name: 'document_ids', data: [[1000000, 0, 42], [42, 1000000, 0]] },
    { name: 'scores', data: [[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]] },
  ]);
  put(src, 'english_queries.train.parquet', [
    { name: 'query_id', data: [3, 7], type: 'INT32' },
    { name: 'text', data: ['three', 'seven'] },
  ]);
  put(src, 'english_collection.parquet', [
    { name: 'document_id', data: [0, 42, 1000000], type: 'INT32' },
    { name: 'text', data: ['zero', 'forty-two', 'a million'] },
  ]);
  const out = path.join(tmp, 'kd-num-out');
  await convert('ms-marco-en-bge-gemma', { from: src, out });
  assert.deepEqual(jsonl(path.join(out, 'ms-marco-en-bge-gemma.jsonl')), [
    { query: 'seven', documents: ['a million', 'zero', 'forty-two'], scores: [0.1, 0.2, 0.3] },
    { query: 'three', documents: ['forty-two', 'a million', 'zero'], scores: [0.3, 0.2, 0.1] },
  ]);
  // a copy without a documents config says which config is missing
  fs.rmSync(path.join(src, 'english_collection.parquet'));
  await assert.rejects(convert('ms-marco-en-bge-gemma', { from: src, out: path.join(tmp, 'kd-num-2') }), { message: `${src}: no parquet file of the documents config (columns document_id, text) (name another column with --columns ROLE=COLUMN)` });
});

test("the output folder: never a user's folder, a previous conversion only with overwrite, nothing left when the work fails", async () => {
  const src = newDir('out');
  put(src, 'data/paq-00000-of-00001.parquet', [
    { name: 'query', data: ['q'] },
    { name: 'document', data: ['d'] },
  ]);
  const mine = newDir('mine');
  fs.writeFileSync(path.join(mine, 'notes.txt'), 'keep me');
  await assert.rejects(convert('nomic-embed-unsupervised-data', { from: src, out: mine, overwrite: true }), /exists and is not a previous data convert output; refusing to replace it/);
  assert.deepEqual(fs.readdirSync(mine), ['notes.txt']);
  assert.equal(fs.readFileSync(path.join(mine, 'notes.txt'), 'utf8'), 'keep me');

  const out = path.join(newDir('prev'), 'converted');
  await convert('nomic-embed-unsupervised-data', { from: src, out });
  await assert.rejects(convert('nomic-embed-unsupervised-data', { from: src, out }), /holds a previous data convert output; add --overwrite to replace it/);
  put(src, 'data/paq-00000-of-00001.parquet', [
    { name: 'query', data: ['q2'] },
    { name: 'document', data: ['d2'] },
  ]);
  await convert('nomic-embed-unsupervised-data', { from: src, out, overwrite: true });
  assert.deepEqual(jsonl(path.join(out, 'paq.jsonl')), [{ query: 'q2', document: 'd2' }]);

  // every row unusable: an error, and neither the folder nor a temporary beside it
  const empty = newDir('empty');
  put(empty, 'data/paq-00000-of-00001.parquet', [
    { name: 'query', data: [null, null], type: 'STRING' },
    { name: 'document', data: ['d', 'e'], type: 'STRING' },
  ]);
  const parent = newDir('fail');
  await assert.rejects(convert('nomic-embed-unsupervised-data', { from: empty, out: path.join(parent, 'x') }), /no usable rows for paq\.jsonl \(2 left out: a value missing or not text\)/);
  assert.deepEqual(fs.readdirSync(parent), []);
  // not a training set
  await assert.rejects(convert('beir-scifact', { from: src, out: path.join(parent, 'y') }), /beir-scifact: format .* is not a training set that data convert takes/);
});

test('the CLI: data convert on a cache copy (import), one line without a copy, a bad --columns is a usage error', () => {
  const env = { CZ_DATA_DIR: path.join(tmp, 'cli-cache') };
  const src = newDir('cli');
  put(src, 'data/nq_cocondensor_hn_mine_reranked_min15-00000-of-00001.parquet', [
    { name: 'query', data: ['q0', 'q1', 'q2'] },
    { name: 'document', data: ['p0', 'p1', 'p2'] },
    { name: 'negative', data: [['a', 'b'], ['c', 'd', 'e'], ['f', 'g']] },
    { name: 'dataset', data: ['nq', 'nq', 'nq'] },
  ]);
  const out = path.join(tmp, 'cli-out');
  const none = runCli(['data', 'convert', 'nomic-embed-supervised', '--out', out], { env });
  assert.equal(none.code, 1, none.stderr);
  assert.match(none.stderr, /nomic-embed-supervised: no copy in the cache .*; run colbert-zero data fetch nomic-embed-supervised, or data import nomic-embed-supervised PATH \(or pass --from DIR\)/);
  assert.equal(none.stderr.trim().split('\n').length, 1, none.stderr);

  const imp = runCli(['data', 'import', 'nomic-embed-supervised', src], { env });
  assert.equal(imp.code, 0, imp.stderr);
  const r = runCli(['data', 'convert', 'nomic-embed-supervised', '--out', out], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^nq_cocondensor_hn_mine_reranked_min15\.jsonl: 3 lines from 1 parquet file \(at least 2 negatives a line\)$/m);
  assert.match(r.stdout, /launch\.sh reads them as \$DATA\/supervised\/\*\.jsonl/);
  assert.deepEqual(jsonl(path.join(out, 'nq_cocondensor_hn_mine_reranked_min15.jsonl'))[1], { query: 'q1', positive: 'p1', negatives: ['c', 'd', 'e'] });

  const bySource = runCli(['data', 'convert', 'nomic-embed-supervised', '--out', path.join(tmp, 'cli-3'), '--source-column', 'dataset'], { env });
  assert.equal(bySource.code, 0, bySource.stderr);
  assert.match(bySource.stdout, /^nq\.jsonl: 3 lines from 1 parquet file/m);

  const usage = runCli(['data', 'convert', 'nomic-embed-supervised', '--out', path.join(tmp, 'cli-2'), '--columns', 'negatives'], { env });
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, /expected KEY=VALUE, got "negatives"/);
});

test('verify tells the distillation configs apart by their columns when the file names do not say (dataset.parquet, english_*.parquet)', async () => {
  const src = newDir('kd-names');
  put(src, 'dataset.parquet', [
    { name: 'query_id', data: ['q1', 'q2'] },
    { name: 'document_ids', data: [['d1', 'd2'], ['d2', 'd1']] },
    { name: 'scores', data: [[0.5, 0.25], [1, 0]] },
  ]);
  put(src, 'english_queries.parquet', [
    { name: 'query_id', data: ['q1', 'q2'] },
    { name: 'text', data: ['first?', 'second?'] },
  ]);
  put(src, 'english_documents.parquet', [
    { name: 'document_id', data: ['d1', 'd2'] },
    { name: 'text', data: ['one', 'two'] },
  ]);
  const root = newDir('kd-cache');
  const m = byId.get('ms-marco-en-bge-gemma')!;
  await importData(m, src, { root });
  const v = await verifyData(m, { root });
  const bad = v.checks.filter((c) => !c.ok).map((c) => c.what);
  assert.deepEqual(bad, []);
  const said = v.checks.map((c) => c.what);
  assert.ok(said.includes('train rows: 2 in 1 parquet file'), said.join('\n'));
  assert.ok(said.includes('queries rows: 2 in 1 parquet file'), said.join('\n'));
  assert.ok(said.includes('documents rows: 2 in 1 parquet file'), said.join('\n'));
  assert.ok(said.some((w) => /^dataset\.parquet: first 2 rows carry 2-2 candidates, one score each$/.test(w)), said.join('\n'));
});
