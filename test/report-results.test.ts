/**
 * Result files: the writer (atomic, never silently replacing a different result) and the reader (every
 * file validated; an error names the file and the key).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasetResult, meanOverDatasets, parseResult, readResults, writeResult } from '../lib/report/results';
import { sha256File } from '../lib/util/hash';
import { codeVersion } from '../lib/util/code-version';
import { evaluate } from '../lib/eval/trec/evaluate';
import { makeResult } from './helpers/report';
import { formatReport, reportOf } from '../lib/report/report';
import { tmpDir } from './helpers/tmp';

function tmp(): string {
  return tmpDir('results');
}

test('writeResult → readResults round trip; <id>.json; the same result again is a no-op; a different one is refused unless overwritten', () => {
  const dir = path.join(tmp(), 'runs');
  const r = makeResult({ id: 'c-distilled-seed0', pipeline: 'c', phase: 'distillation' });
  const file = writeResult(dir, r);
  assert.equal(file, path.join(dir, 'c-distilled-seed0.json'));
  assert.deepEqual(fs.readdirSync(dir), ['c-distilled-seed0.json']); // no temporary left behind
  const back = readResults(dir);
  assert.equal(back.length, 1);
  assert.deepEqual(back[0].result, r);
  assert.equal(back[0].file, file);
  const mtime = fs.statSync(file).mtimeMs;
  assert.equal(writeResult(dir, structuredClone(r)), file);
  assert.equal(fs.statSync(file).mtimeMs, mtime);
  const changed = { ...r, wallSeconds: 99 };
  assert.throws(() => writeResult(dir, changed), new RegExp(`${file.replace(/[.\\/]/g, '\\$&')}: a different result with id "c-distilled-seed0" exists`));
  writeResult(dir, changed, { overwrite: true });
  assert.equal(readResults(dir)[0].result.wallSeconds, 99);
});

test('writeResult validates before writing: nothing is written for an invalid result', () => {
  const dir = tmp();
  const bad = { ...makeResult({ id: 'x' }), seed: 1.5 };
  assert.throws(() => writeResult(dir, bad), /^UserError: result "x": "seed": .*int/);
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.throws(() => writeResult(dir, { ...makeResult({ id: 'x' }), id: '../escape' }), /"id": must be letters, digits/);
});

function expectReadError(mutate: (r: Record<string, any>) => void, message: RegExp, name = 'r1.json'): void {
  const dir = tmp();
  const r = makeResult({ id: 'r1' }) as unknown as Record<string, any>;
  mutate(r);
  fs.writeFileSync(path.join(dir, name), JSON.stringify(r));
  fs.writeFileSync(path.join(dir, 'a-good.json'), JSON.stringify(makeResult({ id: 'a-good' })));
  assert.throws(() => readResults(dir), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(e.message.startsWith(path.join(dir, name) + ': '), e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('readResults names the file and the key of what is wrong', () => {
  expectReadError((r) => delete r.datasets[0].metrics.ndcg_cut_10, /"datasets\.0\.metrics": must contain "ndcg_cut_10"/);
  expectReadError((r) => (r.datasets[1].perQuery.q3.ndcg_cut_10 = 'high'), /"datasets\.1\.perQuery\.q3\.ndcg_cut_10": Invalid input: expected number/);
  expectReadError((r) => (r.datasets[0].metrics.ndcg_cut_10 += 0.05), /"datasets\.0\.metrics\.ndcg_cut_10": is [\d.]+ but the mean of perQuery\.\*\.ndcg_cut_10 is [\d.]+/);
  expectReadError((r) => (r.datasets[0].queries = 3), /"datasets\.0\.queries": is 3 but perQuery has 40 queries/);
  expectReadError((r) => (r.mean.ndcg_cut_10 = 0.9), /"mean\.ndcg_cut_10": is 0\.9 but the mean over datasets is/);
  expectReadError((r) => (r.pipeline = 'd'), /"pipeline": Invalid option/);
  expectReadError((r) => (r.ablation = { kdPrompt: true }), /unknown key "ablation\.kdPrompt"/);
  expectReadError((r) => (r.extra = 1), /unknown key "extra"/);
  expectReadError((r) => (r.dataChecksums.alpha = 'abc'), /"dataChecksums\.alpha": must be a sha256/);
  expectReadError((r) => (r.format = 'something-else'), /"format": Invalid input: expected "colbert-zero-result"/);
  expectReadError((r) => (r.createdAt = 'yesterday'), /"createdAt": Invalid ISO datetime/);
  expectReadError((r) => (r.datasets[1].name = 'alpha'), /"datasets\.1\.name": "alpha" appears twice/);
  expectReadError(() => undefined, /"id": is "r1" but the file is named other\.json/, 'other.json');
});

test('readResults: invalid JSON names the file; a missing folder is one line; temporaries and other files are skipped', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'broken.json'), '{"format": ');
  assert.throws(() => readResults(dir), new RegExp(`${path.join(dir, 'broken.json').replace(/[.\\/]/g, '\\$&')}: invalid JSON`));
  assert.throws(() => readResults(path.join(dir, 'nope')), /cannot read the results folder .*nope: ENOENT/);
  const ok = tmp();
  writeResult(ok, makeResult({ id: 'one' }));
  fs.writeFileSync(path.join(ok, '.one.json.tmp-123-456'), 'half a file');
  fs.writeFileSync(path.join(ok, '.two.json'), 'hidden');
  fs.writeFileSync(path.join(ok, 'README.md'), '# notes');
  assert.deepEqual(readResults(ok).map((f) => f.result.id), ['one']);
  assert.deepEqual(readResults(tmp()), []);
});

test('parseResult accepts the documented optional fields and rejects a result without datasets', () => {
  const r = { ...makeResult({ id: 'x' }), notes: ['temperature 0.2 as Table 1 says'], model: { setting: 'dense', fingerprint: 'sha256:abc' } };
  delete (r as { examplesPerSecond?: number }).examplesPerSecond;
  assert.equal(parseResult(r, 'here').notes![0], 'temperature 0.2 as Table 1 says');
  assert.throws(() => parseResult({ ...r, datasets: [] }, 'here'), /^UserError: here: "datasets": Too small/);
});

test('helpers: datasetResult from evaluate(), meanOverDatasets, sha256File, codeVersion — and the result validates', () => {
  const qrels = new Map([
    ['q1', new Map([['d1', 1]])],
    ['q2', new Map([['d3', 2], ['d2', 1]])],
  ]);
  const run = new Map([
    ['q1', new Map([['d1', 3], ['d2', 2]])],
    ['q2', new Map([['d1', 3], ['d2', 2], ['d3', 1]])],
  ]);
  const ev = evaluate(qrels, run, { measures: ['ndcg_cut.10', 'recip_rank', 'num_q', 'gm_map'] });
  const d = datasetResult('tiny', 'test', ev);
  assert.equal(d.queries, 2);
  assert.equal(d.perQuery.q1.ndcg_cut_10, 1);
  assert.equal(d.metrics.recip_rank, (1 + 1 / 2) / 2);
  const other = { ...d, name: 'tiny2', metrics: { ...d.metrics, recip_rank: 0.25 } };
  assert.deepEqual(meanOverDatasets([d, { metrics: { ndcg_cut_10: 0.5 } }]), { ndcg_cut_10: (d.metrics.ndcg_cut_10 + 0.5) / 2 });
  assert.equal(meanOverDatasets([d, other]).recip_rank, (0.75 + 0.25) / 2);

  const dir = tmp();
  const f = path.join(dir, 'abc.txt');
  fs.writeFileSync(f, 'abc');
  // FIPS 180-2's example: SHA-256("abc")
  assert.equal(sha256File(f), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.throws(() => sha256File(path.join(dir, 'missing')), /cannot read .*missing: ENOENT/);
  assert.match(codeVersion(), /^\d+\.\d+\.\d+\+(g[0-9a-f]{12}(-dirty)?|unknown)$/);
  assert.match(codeVersion(dir), /^\d+\.\d+\.\d+\+unknown$/);

  const result = { ...makeResult({ id: 'from-evaluate' }), datasets: [d], mean: meanOverDatasets([d]), dataChecksums: { 'abc.txt': sha256File(f) }, codeVersion: codeVersion() };
  const file = writeResult(dir, result);
  assert.equal(readResults(dir)[0].file, file);
});

test('evalLengths: recorded where a model was encoded, optional so older results still validate; the report states it and warns when rows differ', () => {
  const old = makeResult({ id: 'old', pipeline: 'c', phase: 'distillation' });
  assert.equal(parseResult(structuredClone(old), 'here').evalLengths, undefined, 'a result written before evalLengths still validates');
  const r = { ...makeResult({ id: 'x', pipeline: 'c', phase: 'distillation' }), evalLengths: { queryLength: 39, documentLength: 71 } };
  assert.deepEqual(parseResult(r, 'here').evalLengths, { queryLength: 39, documentLength: 71 });
  assert.throws(() => parseResult({ ...r, evalLengths: { queryLength: 0, documentLength: 71 } }, 'here'), /"evalLengths\.queryLength": Too small/);
  assert.throws(() => parseResult({ ...r, evalLengths: { queryLength: 39, documentLength: 71, extra: 1 } }, 'here'), /unknown key "evalLengths\.extra"/);
  const dir = tmp();
  writeResult(dir, r);
  writeResult(dir, { ...makeResult({ id: 'y', pipeline: 'a', phase: 'distillation' }), evalLengths: { queryLength: 39, documentLength: 71 } });
  writeResult(dir, makeResult({ id: 'bm25', pipeline: 'bm25' }));
  const one = reportOf(dir).presets[0];
  assert.deepEqual(one.evalLengths, { '39/71': 2 }, 'BM25 reads whole texts: not counted');
  assert.deepEqual(one.warnings, []);
  assert.match(formatReport(reportOf(dir)), /Evaluated at query\/document lengths 39\/71 \(2 results\): one length for every model, so "\+Length" changes training only/);
  writeResult(dir, { ...makeResult({ id: 'z', pipeline: 'b', phase: 'distillation' }), evalLengths: { queryLength: 32, documentLength: 64 } });
  writeResult(dir, old);
  const mixed = reportOf(dir).presets[0];
  assert.deepEqual(mixed.evalLengths, { '39/71': 2, '32/64': 1, 'not recorded': 1 });
  assert.ok(mixed.warnings.some((w) => /evaluated at 2 different query\/document lengths \(39\/71, 32\/64\)/.test(w)), mixed.warnings.join('\n'));
});
