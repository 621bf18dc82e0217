/**
 * The paper's tables as committed under results/paper/: every row's Avg is the mean of its datasets within
 * rounding, Table 5 is Table 4's differences, the same model prints the same numbers in every table, and the
 * claims file holds exactly what the tables recompute. Each check reads the committed files, so a mistyped
 * cell fails here (the corrupted copies below show that the checks catch one).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../lib/util/errors';
import { sharedPaperDir } from './helpers/shared';
import { PAPER_DIR, BEIR_IDS, ablationRows, beirRows, clearPaperCache, deltaRows, paperTable } from '../lib/paper/tables';
import { pipelineCosts, trainingSettings } from '../lib/paper/training';
import { averageChecks, promptAlignment, sameModelMismatches, table5Checks } from '../lib/paper/checks';
import { evaluatePaperClaim, paperClaims } from '../lib/paper/claims';
import { tmpDir } from './helpers/tmp';

const TMP = tmpDir('paper');
process.on('exit', () => fs.rmSync(TMP, { recursive: true, force: true }));
let copies = 0;

/** A copy of the transcription with one file edited by `edit` (on its text). */
function corruptedCopy(file: string, edit: (text: string) => string): string {
  const dir = path.join(TMP, `copy${copies++}`);
  fs.cpSync(PAPER_DIR, dir, { recursive: true });
  const p = path.join(dir, file);
  const before = fs.readFileSync(p, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, 'the edit must change the file');
  fs.writeFileSync(p, after);
  clearPaperCache();
  return dir;
}

test('every table loads and validates; Tables 2-4 carry the 15 BEIR sets in the paper order', () => {
  for (let n = 1; n <= 5; n++) assert.equal(paperTable(n).table, n);
  assert.equal(beirRows(2).length, 10);
  assert.equal(beirRows(3).length, 9);
  assert.equal(ablationRows().length, 25);
  assert.equal(deltaRows().length, 7);
  for (const n of [2, 3, 4] as const) {
    const cols = paperTable(n).columns.filter((c) => c.kind === 'dataset');
    assert.deepEqual(cols.map((c) => c.dataset), [...BEIR_IDS]);
  }
  // the † row: extra length at evaluation only
  assert.equal(ablationRows().filter((r) => r.length === 'eval-only').length, 1);
});

test('each row of Tables 2-4: the mean of its 15 datasets equals the printed Avg within rounding', (t) => {
  const checks = averageChecks();
  assert.equal(checks.length, 10 + 9 + 25);
  const bad = checks.filter((c) => !c.ok);
  const worst = Math.max(...checks.map((c) => Math.abs(c.recomputed - c.printed)));
  t.diagnostic(`${checks.length} rows checked, largest |mean − Avg| = ${worst.toFixed(4)}`);
  assert.deepEqual(
    bad.map((c) => `Table ${c.table} ${c.row}: Avg ${c.printed}, mean ${c.recomputed.toFixed(4)}`),
    [],
    'rows whose Avg is not the mean of their datasets',
  );
});

test("Table 5's values are Table 4's Avg and its deltas Table 4's differences (the paper says: vs. baseline, no prompt, no length)", () => {
  const checks = table5Checks();
  assert.equal(checks.length, 7 + 5 * 3 + 2); // 7 baselines, 5 full rows × 3, the 2 rows without prompts have +Both only
  assert.deepEqual(
    checks.filter((c) => !c.ok).map((c) => `${c.row} ${c.column}: printed ${c.printedDelta} (${c.printedValue}), Table 4 ${c.table4Delta} (${c.table4Value})`),
    [],
  );
});

test('the same model prints the same numbers in Tables 2, 3 and 4', () => {
  assert.deepEqual(sameModelMismatches(), []);
});

test("Table 1's settings parse (KD's 128 is an effective batch with gradient accumulation 2)", () => {
  const s = trainingSettings();
  assert.deepEqual(s.map((x) => x.phase), ['unsupervised', 'supervised', 'kd']);
  const kd = s[2];
  assert.equal(kd.gradientAccumulation, 2);
  assert.equal(kd.temperature, null);
  for (const x of s) {
    assert.ok(x.lrRange[0] > x.lrRange[1], `${x.phase}: LR range printed high to low`);
    assert.ok(x.queryLength > 0 && x.documentLength > x.queryLength);
  }
  assert.equal(s[0].gpus, 32, 'unsupervised on 8 nodes of 4 GPUs');
});

test('pipelines (a) (b) (c): Table 2 averages against Table 1 GPU-hours, cost rising with the average', (t) => {
  const p = pipelineCosts();
  t.diagnostic(p.map((x) => `(${x.pipeline}) ${x.name}: ${x.avg} nDCG@10, ${x.gpuHours} GPU-hours`).join('; '));
  assert.deepEqual(p.map((x) => x.pipeline), ['a', 'b', 'c']);
  for (let i = 1; i < p.length; i++) assert.ok(p[i].avg > p[i - 1].avg && p[i].gpuHours > p[i - 1].gpuHours);
});

test('claims.json holds what the tables recompute, and the verdicts', (t) => {
  const all = paperClaims();
  for (const id of ['zero-beats-gte-moderncolbert', 'zero-beats-gte-modernbert', 'kd-only-gap', 'supervised-kd-99-4-percent', 'supervised-kd-tenth-of-cost', 'prompt-gap']) {
    assert.ok(all.some((c) => c.id === id), `claim ${id} is in claims.json`);
  }
  for (const c of all) {
    const fresh = evaluatePaperClaim(c);
    t.diagnostic(`${fresh.verdict.padEnd(17)} ${c.id}: ${fresh.checks.map((k) => `${k.recomputed}${k.pass ? ' pass' : ' FAIL'}`).join(', ')}`);
    assert.equal(c.verdict, fresh.verdict, `${c.id}: committed verdict`);
    c.checks.forEach((k, i) => {
      assert.equal(k.recomputed, fresh.checks[i].recomputed, `${c.id}: check ${i} recomputed`);
      assert.equal(k.pass, fresh.checks[i].pass, `${c.id}: check ${i} pass`);
    });
    c.quotes.forEach((q, i) => {
      assert.equal(q.recomputed, fresh.quotes[i].recomputed, `${c.id}: quote ${q.quoted}`);
      assert.equal(q.pass, fresh.quotes[i].pass, `${c.id}: quote ${q.quoted} pass`);
    });
  }
});

/**
 * A printed cell of results/paper/table-N.json as a number, read with JSON.parse alone (no lib/report code):
 * Table 5's "+0.70 (53.28)" gives its delta, 0.70; the paper prints minus signs as "−".
 */
function printedCell(n: number, rowId: string, column: string): number {
  const t = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'results', 'paper', `table-${n}.json`), 'utf8')) as { columns: Array<{ label: string }>; rows: Array<{ id: string; cells: string[] }> };
  const row = t.rows.find((r) => r.id === rowId);
  const k = t.columns.findIndex((c) => c.label === column);
  assert.ok(row && k >= 0, `Table ${n} has row ${rowId} and column ${column}`);
  const v = Number(row.cells[k].split(' ')[0].replace('−', '-'));
  assert.ok(Number.isFinite(v), `Table ${n} ${rowId} ${column}: "${row.cells[k]}"`);
  return v;
}

test('claims.json agrees with claims recomputed here by hand from the printed cells', () => {
  const T2 = (row: string) => printedCell(2, row, 'Avg');
  const T3 = (row: string) => printedCell(3, row, 'Avg');
  const gpuHours = (row: string) => printedCell(1, row, 'GPU hours');
  const zero = T2('colbert-zero-full-pre-training/distilled'); // 55.43
  const kdOnly = T2('kd-from-dense-supervised/embed-base-distilled'); // 54.09
  const supKd = T2('supervised-plus-kd-from-dense-unsupervised/embed-base-distilled'); // 55.12
  const quoted = (q: string, v: number) => Math.abs(v - Number(q)) <= 0.5 * 10 ** -(q.split('.')[1]?.length ?? 0) + 1e-9;
  // The verdict rule of claims.json's description: every test passes → supported, none → contradicted.
  const verdict = (passes: boolean[]) => (passes.every(Boolean) ? 'supported' : passes.some(Boolean) ? 'partly supported' : 'contradicted');
  const t5 = (row: string, col: string) => printedCell(5, row, col);
  const lengthOthers = ['supervised-plus-kd-from-dense-unsupervised-with-prompts/supervised', 'supervised-plus-kd-from-dense-unsupervised-with-prompts/distilled', 'supervised-plus-kd-from-colbert-unsupervised-with-prompts/supervised', 'supervised-plus-kd-from-colbert-unsupervised-with-prompts/distilled'];
  const alignment = [
    T3('modernbert-embed-unsupervised-with-prompts/supervised-plus-kd-with-prompts') - T3('modernbert-embed-unsupervised-with-prompts/supervised-plus-kd-without-prompts'),
    T3('colbert-zero-unsupervised-with-prompts/supervised-plus-kd-with-prompts') - T3('colbert-zero-unsupervised-with-prompts/supervised-plus-kd-without-prompts'),
    T3('colbert-zero-unsupervised-without-prompts/supervised-plus-kd-with-prompts') - T3('colbert-zero-unsupervised-without-prompts/supervised-plus-kd-without-prompts'),
    t5('supervised-plus-kd-from-dense-unsupervised-with-prompts/supervised', '+Prompt'),
    t5('supervised-plus-kd-from-colbert-unsupervised-with-prompts/supervised', '+Prompt'),
    t5('supervised-plus-kd-from-colbert-unsupervised-without-prompts/supervised', '+Both'),
  ];
  const evalOnly = printedCell(4, 'supervised-plus-kd-from-colbert-unsupervised-without-prompts/distilled/prompt-no-length-eval', 'Avg') - printedCell(4, 'supervised-plus-kd-from-colbert-unsupervised-without-prompts/distilled/prompt-no-length-no', 'Avg');
  const lengthGap = t5('kd-from-dense-supervised-with-prompts/distilled', '+Length') - Math.max(...lengthOthers.map((r) => t5(r, '+Length')));
  const byHand: Record<string, { values: number[]; verdict: string }> = {
    // "ColBERT-Zero (55.43) outperforms GTE-ModernColBERT (54.67)": both quotes, and 55.43 − 54.67 > 0
    'zero-beats-gte-moderncolbert': { values: [zero - T2('baselines/gte-moderncolbert')], verdict: verdict([quoted('55.43', zero), quoted('54.67', T2('baselines/gte-moderncolbert')), zero - T2('baselines/gte-moderncolbert') > 0]) },
    // "KD-only (54.09) lags ColBERT-Zero (55.43) by more than 1.3 points"
    'kd-only-gap': { values: [zero - kdOnly], verdict: verdict([quoted('54.09', kdOnly), quoted('55.43', zero), zero - kdOnly > 1.3]) },
    // "Supervised + KD reaches 99.4 % of ColBERT-Zero's average": 55.12 / 55.43 within 0.0005 of 0.994
    'supervised-kd-99-4-percent': { values: [supKd / zero], verdict: verdict([Math.abs(supKd / zero - 0.994) <= 0.0005]) },
    // "roughly 10× cheaper": Table 1's (368 + 32 + 8) / (32 + 8) GPU hours within 0.5 of 10
    'supervised-kd-tenth-of-cost': {
      values: [(gpuHours('unsupervised') + gpuHours('supervised') + gpuHours('kd')) / (gpuHours('supervised') + gpuHours('kd'))],
      verdict: verdict([Math.abs((gpuHours('unsupervised') + gpuHours('supervised') + gpuHours('kd')) / (gpuHours('supervised') + gpuHours('kd')) - 10) <= 0.5]),
    },
    // Table 3 says prompts in fine-tuning help (with-prompt bases) and hurt (the base without); Table 5's
    // supervised-stage deltas say the opposite: 3 of 6 tests pass.
    'prompt-alignment': { values: alignment, verdict: verdict([alignment[0] > 0, alignment[1] > 0, alignment[2] < 0, alignment[3] > 0, alignment[4] > 0, alignment[5] < 0]) },
    // "The largest gains from length come from KD alone": Table 5's +Length, KD-only minus the largest other
    'length-kd-only-largest': { values: [lengthGap], verdict: verdict([lengthGap > 0]) },
    // "Lengths at evaluation only do not change the results": Table 4's † row minus its baseline within 0.05
    'eval-length-no-effect': { values: [evalOnly], verdict: verdict([Math.abs(evalOnly) <= 0.05]) },
  };
  // What the hand computation finds (so a change to the tables is seen here, not only a disagreement).
  assert.deepEqual(Object.fromEntries(Object.entries(byHand).map(([id, h]) => [id, h.verdict])), {
    'zero-beats-gte-moderncolbert': 'supported',
    'kd-only-gap': 'supported',
    'supervised-kd-99-4-percent': 'supported',
    'supervised-kd-tenth-of-cost': 'supported',
    'prompt-alignment': 'partly supported',
    'length-kd-only-largest': 'supported',
    'eval-length-no-effect': 'supported',
  });
  const committed = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'results', 'paper', 'claims.json'), 'utf8')) as { claims: Array<{ id: string; verdict: string; checks: Array<{ recomputed: number }> }> }).claims;
  for (const [id, h] of Object.entries(byHand)) {
    const c = committed.find((x) => x.id === id);
    assert.ok(c, `claim ${id} in claims.json`);
    assert.equal(c.verdict, h.verdict, `${id}: claims.json's verdict`);
    assert.equal(c.checks.length, h.values.length, `${id}: number of checks`);
    c.checks.forEach((k, i) => assert.ok(Math.abs(k.recomputed - h.values[i]) < 1e-6, `${id}: check ${i} recorded ${k.recomputed}, by hand ${h.values[i]}`));
  }
});

test('a mistyped dataset cell is caught by the average check and the cross-table check', () => {
  // Table 2's GTE-ModernColBERT FIQA cell 45.28 → 48.28
  const dir = corruptedCopy('table-2.json', (s) => s.replace('"54.67", "45.28"', '"54.67", "48.28"'));
  try {
    const bad = averageChecks(dir).filter((c) => !c.ok);
    assert.deepEqual(bad.map((c) => `${c.table} ${c.row}`), ['2 baselines/gte-moderncolbert']);
  } finally {
    clearPaperCache();
  }
  // ColBERT-Zero's Table 2 MSMARCO 45.80 → 45.08 moves the mean by 0.048, beyond rounding (0.01)
  const dir2 = corruptedCopy('table-2.json', (s) => s.replace('"90.59", "45.80"', '"90.59", "45.08"'));
  try {
    assert.equal(averageChecks(dir2).filter((c) => !c.ok).length, 1);
    assert.match(sameModelMismatches(dir2).join('\n'), /ColBERT-Zero: msmarco 45.08 in Table 2 vs 45.8 in Table 3/);
  } finally {
    clearPaperCache();
  }
});

test('a mistyped Table 5 delta fails the Table 4 check and changes a claim verdict', () => {
  const dir = corruptedCopy('table-5.json', (s) => s.replace('+0.70 (53.28)', '+0.07 (53.28)'));
  try {
    const bad = table5Checks(dir).filter((c) => !c.ok);
    assert.deepEqual(bad.map((c) => `${c.row} ${c.column}`), ['kd-from-dense-supervised-with-prompts/distilled length']);
    const c = paperClaims(dir).find((x) => x.id === 'length-kd-only-largest')!;
    assert.equal(evaluatePaperClaim(c, dir).verdict, 'contradicted');
  } finally {
    clearPaperCache();
  }
});

test('bad transcriptions are one-line errors naming the file and the row or key', () => {
  const dir = corruptedCopy('table-4.json', (s) => s.replace('"52.58", "41.58"', '"52.58", "41,58"'));
  try {
    assert.throws(() => paperTable(4, dir), (e: unknown) => e instanceof UserError && /table-4\.json: rows\.0 \(kd-from-dense-supervised-with-prompts\/distilled\/prompt-no-length-no\) column "FiQA": cell "41,58"/.test((e as Error).message) && !(e as Error).message.includes('\n'));
  } finally {
    clearPaperCache();
  }
  const dir2 = corruptedCopy('claims.json', (s) => s.replace('"op": ">"', '"op": "!"'));
  try {
    assert.throws(() => paperClaims(dir2), (e: unknown) => e instanceof UserError && /claims\.json: claims\.0\.checks\.0\.test/.test((e as Error).message));
  } finally {
    clearPaperCache();
  }
  const dir3 = corruptedCopy('table-1.json', (s) => s.replace('"128*"', '"128**"'));
  try {
    assert.throws(() => trainingSettings(dir3), /table-1\.json: rows\.2 column "Batch size": "128\*" is not a number/);
  } finally {
    clearPaperCache();
  }
});

/** The paper's extracted text, when present beside the project (it is not part of the repository). */
function paperText(): string | null {
  const d = sharedPaperDir();
  if (d) {
    for (const f of fs.readdirSync(d).filter((n) => n.endsWith('.txt')).sort()) {
      const text = fs.readFileSync(path.join(d, f), 'utf8');
      if (text.includes('ColBERT-Zero: To Pre-train Or Not To Pre-train ColBERT models') && text.includes('\nTable 5\n')) return text;
    }
  }
  return null;
}
const PAPER_TEXT = paperText();

test('cell by cell: every transcribed row is a line of its table in the paper text, in order, and no line is left out', { skip: PAPER_TEXT ? false : 'the paper text is not beside the project (set CZ_SHARED_PAPER)' }, () => {
  const lines = PAPER_TEXT!.split('\n');
  const untag = (s: string) => s.replace(/<\/?i>/g, '').trim();
  const MARK: Record<string, string> = { '×': '\\times', '✓': '\\checkmark', '✓†': '\\checkmark^{\\dagger}' };
  for (let n = 1; n <= 5; n++) {
    const t = paperTable(n);
    let at = lines.findIndex((l) => l.trim() === `Table ${n}`);
    assert.ok(at >= 0, `Table ${n} in the paper text`);
    // the header line: its first column name, then the table's lines until the first blank line
    while (!/^(Phase|Model|Method)\b/.test(lines[at])) at++;
    const body: string[][] = [];
    for (let i = at + (n === 4 ? 2 : 1); i < lines.length && lines[i].trim() !== ''; i++) {
      const cells = lines[i].split('\t').map(untag);
      if (cells.slice(1).every((c) => c === '')) continue; // a group line
      body.push(cells.filter((c, k) => c !== '' || (k === 0 && n === 4)));
    }
    assert.equal(body.length, t.rows.length, `Table ${n}: ${body.length} data lines in the paper, ${t.rows.length} rows transcribed`);
    t.rows.forEach((row, r) => {
      const printed = row.cells.map((c) => MARK[c] ?? c);
      const label = row.labelPrinted === false ? '' : row.label;
      assert.deepEqual(body[r], [label, ...printed], `Table ${n} row ${row.id}`);
    });
  }
});

test('promptAlignment: adding prompts to fine-tuning helps the final models pre-trained with prompts and hurts the one without', () => {
  const a = promptAlignment();
  assert.equal(a.holds, true);
  assert.equal(a.rows.length, deltaRows().length);
  // Each +Both delta is Table 4's (prompt, length) row minus its (no prompt, no length) row, to rounding.
  const t4 = new Map(ablationRows().map((r) => [r.id, r.avg]));
  for (const [i, r] of a.rows.entries()) {
    const id = deltaRows()[i].id;
    if (r.addBoth === null) continue;
    assert.ok(Math.abs(r.addBoth - (t4.get(`${id}/prompt-yes-length-yes`)! - t4.get(`${id}/prompt-no-length-no`)!)) < 0.011, id);
  }
  const without = a.rows.filter((r) => !r.pretrainedWithPrompts);
  assert.ok(without.length > 0 && without.every((r) => r.addPrompt === null));
  assert.equal(without.find((r) => r.stage === 'Distilled')!.addBoth, -0.43);
  // A copy where the without-prompts model gains from prompts: the finding no longer holds.
  const dir = corruptedCopy('table-5.json', (s) => s.replace('−0.43 (54.18)', '+0.43 (54.18)'));
  assert.equal(promptAlignment(dir).holds, false);
  clearPaperCache();
});
