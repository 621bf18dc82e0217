/**
 * Readers: real BEIR folders load with BEIR's counts; every kind of bad input is one UserError that
 * names the file and the line.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../lib/index';
import {
  forEachLine,
  loadBeir,
  readBeirQrels,
  readCorpus,
  readQrelsFile,
  readQueries,
  readTrecQrels,
  readTrecRun,
  writeTrecRun,
  type Run,
} from '../lib/data';
import { sharedPath, skipWithoutShared } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('data');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));

let counter = 0;
function file(content: string | Buffer, name = `f${counter++}.txt`): string {
  const p = path.join(TMP, name);
  fs.writeFileSync(p, content);
  return p;
}

/** Asserts a UserError whose message starts with `<file>:<line>:` (or `<file>:` when line is null). */
function rejects(fn: () => unknown, p: string, line: number | null, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof UserError, `not a UserError: ${String(e)}`);
    const prefix = line === null ? `${p}: ` : `${p}:${line}: `;
    assert.ok(e.message.startsWith(prefix), `'${e.message}' does not start with '${prefix}'`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

test('BEIR SciFact loads with BEIR counts: 5,183 docs, 300 test queries, 339 judgments', { skip: skipWithoutShared('beir', 'scifact') }, () => {
  const ds = loadBeir(sharedPath('beir', 'scifact')!, 'test');
  assert.equal(ds.corpus.length, 5183);
  assert.equal(ds.queries.length, 300);
  assert.equal(ds.qrels.size, 300);
  let judgments = 0;
  for (const d of ds.qrels.values()) judgments += d.size;
  assert.equal(judgments, 339);
  assert.equal(ds.warnings.unknownQueries + ds.warnings.unknownDocs, 0);
  assert.ok(ds.corpus.every((d) => typeof d.title === 'string' && d.text.length > 0));
  // queries come in the order the qrels first name them
  assert.deepEqual(ds.queries.map((q) => q.id), [...ds.qrels.keys()]);
});

test('BEIR NFCorpus test split: 3,633 docs, 323 queries, 12,334 graded judgments', { skip: skipWithoutShared('beir', 'nfcorpus') }, () => {
  const ds = loadBeir(sharedPath('beir', 'nfcorpus')!, 'test');
  assert.equal(ds.corpus.length, 3633);
  assert.equal(ds.queries.length, 323);
  let judgments = 0;
  const grades = new Set<number>();
  for (const d of ds.qrels.values()) for (const r of d.values()) (judgments++, grades.add(r));
  assert.equal(judgments, 12334);
  assert.deepEqual([...grades].sort(), [1, 2]);
});

test('loadBeir counts judgments naming unknown queries (dropped) and documents (kept)', () => {
  const dir = path.join(TMP, 'mini');
  fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), '{"_id":"d1","title":"T","text":"one"}\n{"_id":2,"text":"two"}\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"first"}\n{"_id":"q2","text":"second"}\n');
  fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\tdX\t1\nqX\td1\t1\nqX\t2\t1\n');
  const ds = loadBeir(dir, 'test');
  assert.deepEqual(ds.corpus.map((d) => [d.id, d.title]), [['d1', 'T'], ['2', '']]);
  assert.deepEqual(ds.queries.map((q) => q.id), ['q1']); // q2 is not judged in this split
  assert.deepEqual([...ds.qrels.get('q1')!.keys()], ['d1', 'dX']);
  assert.equal(ds.warnings.unknownQueries, 2);
  assert.equal(ds.warnings.unknownDocs, 1);
  assert.equal(ds.warnings.messages.length, 2);
  rejects(() => loadBeir(dir, 'dev'), path.join(dir, 'qrels', 'dev.tsv'), null, /not found/);
});

test('corpus and queries: malformed JSON, missing _id or text, duplicates, empty files', () => {
  let p = file('{"_id":"a","text":"x"}\n{"_id":"b","text":\n');
  rejects(() => readCorpus(p), p, 2, /malformed JSON/);
  p = file('{"_id":"a","text":"x"}\n\n{"title":"t","text":"x"}\n');
  rejects(() => readCorpus(p), p, 3, /missing or empty "_id"/);
  p = file('{"_id":"a","title":"t"}\n');
  rejects(() => readCorpus(p), p, 1, /missing "text"/);
  p = file('{"_id":"a","text":5}\n');
  rejects(() => readQueries(p), p, 1, /"text" must be a string/);
  p = file('{"_id":"a","text":"x"}\n{"_id":"b","text":"y"}\n{"_id":"a","text":"z"}\n');
  rejects(() => readCorpus(p), p, 3, /duplicate document id 'a' \(first on line 1\)/);
  p = file('[1,2]\n');
  rejects(() => readQueries(p), p, 1, /JSON object/);
  p = file('');
  rejects(() => readCorpus(p), p, null, /empty/);
  p = file('\n\n');
  rejects(() => readQueries(p), p, null, /no querys|no quer/);
});

test('non-UTF-8 bytes are reported with their line, also past the first 4 MiB chunk', () => {
  let p = file(Buffer.concat([Buffer.from('{"_id":"a","text":"x"}\n{"_id":"b","text":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]));
  rejects(() => readCorpus(p), p, 2, /not valid UTF-8/);
  const line = '1 Q0 doc 1 1.5 tag\n'; // 19 bytes
  const n = Math.ceil((5 << 20) / line.length);
  const big = Buffer.concat([Buffer.from(line.repeat(n)), Buffer.from([0x31, 0x20, 0xc3, 0x28, 0x0a])]);
  p = file(big);
  rejects(() => forEachLine(p, () => {}), p, n + 1, /not valid UTF-8/);
  // and the line count is exact across chunk boundaries
  let count = 0;
  forEachLine(file(Buffer.from(line.repeat(n))), () => count++);
  assert.equal(count, n);
});

test('a byte-order mark and CRLF line ends are accepted', () => {
  const p = file('\ufeff{"_id":"a","text":"x"}\r\n{"_id":"b","text":"y"}\r\n');
  assert.deepEqual(readQueries(p), [{ id: 'a', text: 'x' }, { id: 'b', text: 'y' }]);
});

test('TREC run: six columns, numeric scores, one line per (query, document); extra columns and comments ignored', () => {
  const ok = file('# comment\n1 Q0 d1 1 2.5 tagA\n\n1 Q0 d2 2 -1e-3 tagB extra words\n2\tQ0\td1\t1\t7\ttagC\n');
  const r = readTrecRun(ok);
  assert.equal(r.lines, 3);
  assert.equal(r.runId, 'tagC'); // trec_eval keeps the last line's tag
  assert.deepEqual([...r.run.get('1')!], [['d1', 2.5], ['d2', -0.001]]);
  let p = file('1 Q0 d1 1 2.5 t\n1 Q0 d2 2 2.4\n');
  rejects(() => readTrecRun(p), p, 2, /expected 6 columns/);
  p = file('1 Q0 d1 1 2.5 t\n1 Q0 d2 2 high t\n');
  rejects(() => readTrecRun(p), p, 2, /score 'high' is not a finite number/);
  p = file('1 Q0 d1 1 NaN t\n');
  rejects(() => readTrecRun(p), p, 1, /not a finite number/);
  p = file('1 Q0 d1 1 2.5 t\n2 Q0 d1 1 2.5 t\n1 Q0 d1 3 0.5 t\n');
  rejects(() => readTrecRun(p), p, 3, /document 'd1' appears twice for query '1'/);
  p = file('');
  rejects(() => readTrecRun(p), p, null, /empty/);
  p = file('# only a comment\n');
  rejects(() => readTrecRun(p), p, null, /no result lines/);
});

test('TREC qrels: four columns, integer relevance, no document judged twice', () => {
  const q = readTrecQrels(file('1 0 d1 1\n1 0 d2 -1\n2 0 d1 0\n'));
  assert.deepEqual([...q.get('1')!], [['d1', 1], ['d2', -1]]);
  let p = file('1 0 d1 1\n1 0 d2\n');
  rejects(() => readTrecQrels(p), p, 2, /expected 4 columns/);
  p = file('1 0 d1 1\n1 0 d2 0.5\n');
  rejects(() => readTrecQrels(p), p, 2, /relevance '0.5' is not an integer/);
  p = file('1 0 d1 1\n1 0 d1 0\n');
  rejects(() => readTrecQrels(p), p, 2, /judged twice/);
});

test('BEIR qrels TSV: header skipped, integer scores, 3 columns; readQrelsFile tells the formats apart', () => {
  const p = file('query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\n');
  assert.deepEqual([...readBeirQrels(p).qrels.get('q1')!], [['d1', 1], ['d2', 0]]);
  assert.deepEqual([...readQrelsFile(p).get('q1')!], [['d1', 1], ['d2', 0]]);
  assert.deepEqual([...readQrelsFile(file('q1 0 d1 2\n')).get('q1')!], [['d1', 2]]);
  let bad = file('query-id\tcorpus-id\tscore\nq1\td1\n');
  rejects(() => readBeirQrels(bad), bad, 2, /3 tab-separated columns/);
  bad = file('query-id\tcorpus-id\tscore\nq1\td1\tyes\n');
  rejects(() => readBeirQrels(bad), bad, 2, /not an integer/);
  bad = file('query-id\tcorpus-id\tscore\n');
  rejects(() => readBeirQrels(bad), bad, null, /no judgments/);
});

test('writeTrecRun writes trec_eval ranks and reads back to the same run', () => {
  const run: Run = new Map([
    ['q1', new Map([['b', 0.5], ['a', 0.5], ['c', 0.1 + 0.2]])],
    ['q2', new Map([['x', -3]])],
  ]);
  const p = path.join(TMP, 'out.run');
  writeTrecRun(p, run, { tag: 'mine' });
  assert.deepEqual(fs.readFileSync(p, 'utf8').split('\n').slice(0, 3), [
    'q1 Q0 b 1 0.5 mine', // ties: larger id first
    'q1 Q0 a 2 0.5 mine',
    'q1 Q0 c 3 0.30000000000000004 mine',
  ]);
  const back = readTrecRun(p);
  assert.deepEqual(back.run, run);
  writeTrecRun(p, run, { depth: 1 });
  assert.equal(readTrecRun(p).lines, 2);
});
