/**
 * The paper's Tables 1–5 as data: the transcription committed under `results/paper/` (one file per table,
 * every cell as printed), validated on load, with typed accessors and the text's claims recomputed from the
 * tables. Nothing here holds a number of the paper: every value comes from the committed files.
 *
 *   paperTable(n)          the validated table n (1–5)
 *   beirRows(n)            Tables 2–4 as rows of numbers: { id, group, label, avg, values: {beirId: nDCG@10} }
 *   ablationRows()         Table 4's rows with their +Prompt / +Length settings
 *   deltaRows()            Table 5's rows: baseline and { delta, value } per setting (null where printed "–")
 *   trainingSettings()     Table 1 parsed: LR range, batch size, temperature, lengths, GPU-hours per phase
 *   claims()               the text's claims (results/paper/claims.json) with their recomputed checks
 *   evaluateClaim(c)       recomputes one claim's checks and verdict from the tables
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';

/** Where the transcription lives (the repository's `results/paper/`). */
export const PAPER_DIR = path.resolve(__dirname, '../../results/paper');

/** The 15 BEIR test sets of Tables 2–4, in the paper's column order, as BEIR ids. */
export const BEIR_IDS = [
  'fiqa', 'nfcorpus', 'trec-covid', 'webis-touche2020', 'arguana', 'quora', 'scidocs', 'scifact',
  'nq', 'climate-fever', 'hotpotqa', 'dbpedia-entity', 'cqadupstack', 'fever', 'msmarco',
] as const;
export type BeirId = (typeof BEIR_IDS)[number];

const NUMBER = /^\d+(\.\d+)?$/;
const MARKS = { '×': false, '✓': true, '✓†': 'eval-only' } as const;
const DELTA = /^([+−-])(\d+\.\d+) \((\d+\.\d+)\)$/;
const NONE = new Set(['–', '-']);

const Column = z.strictObject({
  label: z.string().min(1),
  kind: z.enum(['avg', 'dataset', 'setting', 'baseline', 'delta']).optional(),
  dataset: z.enum(BEIR_IDS).optional(),
});
const Row = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9/-]*$/),
  group: z.string().optional(),
  label: z.string().min(1),
  labelPrinted: z.literal(false).optional(),
  cells: z.array(z.string().min(1)),
});
const TableSchema = z.strictObject({
  table: z.number().int().min(1).max(5),
  caption: z.string().min(1),
  notes: z.string().optional(),
  unit: z.string().optional(),
  columns: z.array(Column).min(1),
  rows: z.array(Row).min(1),
  footnotes: z.array(z.string()).optional(),
  captionFacts: z
    .strictObject({
      lrValuesPerPhase: z.number().int().positive(),
      lrSpacing: z.string(),
      gpu: z.string(),
      gpusPerNode: z.number().int().positive(),
      nodes: z.record(z.string(), z.number().int().positive()),
      lengthsIncludePromptTokens: z.boolean(),
      kdGradientAccumulation: z.number().int().positive(),
    })
    .optional(),
  textFacts: z.array(z.strictObject({ key: z.string(), value: z.unknown(), source: z.string().min(1) })).optional(),
});
export type PaperTable = z.infer<typeof TableSchema>;

/** A reference to one printed cell; `part` picks the delta or the value of a Table 5 cell "+1.25 (53.83)". */
const CellRef = z.strictObject({
  table: z.number().int().min(1).max(5),
  row: z.string(),
  column: z.string(),
  part: z.enum(['delta', 'value']).optional(),
});
export type CellRef = z.infer<typeof CellRef>;

/** An arithmetic expression over cells. */
export type Expr =
  | { cell: CellRef }
  | { const: number }
  | { add: Expr[] }
  | { sub: [Expr, Expr] }
  | { div: [Expr, Expr] }
  | { max: Expr[] }
  | { min: Expr[] };
const ExprSchema: z.ZodType<Expr> = z.lazy(() =>
  z.union([
    z.strictObject({ cell: CellRef }),
    z.strictObject({ const: z.number() }),
    z.strictObject({ add: z.array(ExprSchema).min(1) }),
    z.strictObject({ sub: z.tuple([ExprSchema, ExprSchema]) }),
    z.strictObject({ div: z.tuple([ExprSchema, ExprSchema]) }),
    z.strictObject({ max: z.array(ExprSchema).min(1) }),
    z.strictObject({ min: z.array(ExprSchema).min(1) }),
  ]),
) as z.ZodType<Expr>;

const TestSchema = z.union([
  z.strictObject({ op: z.enum(['>', '<', '>=', '<=']), value: z.number() }),
  z.strictObject({ op: z.literal('≈'), value: z.number(), tolerance: z.number().nonnegative() }),
  z.strictObject({ op: z.literal('between'), low: z.number(), high: z.number() }),
]);
export type ClaimTest = z.infer<typeof TestSchema>;

const CheckSchema = z.strictObject({
  label: z.string().min(1),
  expr: ExprSchema,
  test: TestSchema,
  recomputed: z.number().optional(),
  pass: z.boolean().optional(),
});
/** A number the sentence quotes, to be found in the tables (equal within the quoted precision). */
const QuotedSchema = z.strictObject({
  quoted: z.string().regex(/^\d+(\.\d+)?$/),
  expr: ExprSchema,
  recomputed: z.number().optional(),
  pass: z.boolean().optional(),
});
export type Verdict = 'supported' | 'partly supported' | 'contradicted';
const ClaimSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  claim: z.string().min(1),
  source: z.strictObject({ document: z.enum(['paper', 'poster', 'summary']), where: z.string(), sentence: z.string().min(1) }),
  quotes: z.array(QuotedSchema).default([]),
  checks: z.array(CheckSchema).min(1),
  note: z.string().optional(),
  verdict: z.enum(['supported', 'partly supported', 'contradicted']).optional(),
});
export type Claim = z.infer<typeof ClaimSchema>;
const ClaimsFileSchema = z.strictObject({ description: z.string(), claims: z.array(ClaimSchema).min(1) });

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join('.') : '(top level)';
}

function readValidated<T>(file: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: cannot read the transcription (${(e as Error).message.split('\n')[0]})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UserError(`${file}: ${issuePath(i)}: ${i.message}`);
  }
  return r.data;
}

function tableFile(n: number, dir: string): string {
  return path.join(dir, `table-${n}.json`);
}

/** Checks what the schema cannot: cell counts, printed formats, unique ids, the dataset columns. */
function checkTable(t: PaperTable, n: number, file: string): void {
  const at = (r: number, c?: number) => `${file}: rows.${r} (${t.rows[r].id})${c === undefined ? '' : ` column "${t.columns[c].label}"`}`;
  if (t.table !== n) throw new UserError(`${file}: "table" is ${t.table}, expected ${n}`);
  const ids = new Set<string>();
  t.rows.forEach((row, r) => {
    if (ids.has(row.id)) throw new UserError(`${at(r)}: duplicate row id`);
    ids.add(row.id);
    if (row.cells.length !== t.columns.length) throw new UserError(`${at(r)}: ${row.cells.length} cells for ${t.columns.length} columns`);
    row.cells.forEach((cell, c) => {
      const kind = t.columns[c].kind;
      const ok =
        kind === 'avg' || kind === 'dataset' || kind === 'baseline'
          ? NUMBER.test(cell)
          : kind === 'setting'
            ? cell in MARKS
            : kind === 'delta'
              ? DELTA.test(cell) || NONE.has(cell)
              : true;
      if (!ok) throw new UserError(`${at(r, c)}: cell "${cell}" is not a ${kind} value as printed`);
    });
  });
  if (n >= 2 && n <= 4) {
    const ds = t.columns.filter((c) => c.kind === 'dataset').map((c) => c.dataset);
    if (ds.join(',') !== BEIR_IDS.join(',')) throw new UserError(`${file}: dataset columns map to ${ds.join(',')}, expected the 15 BEIR sets ${BEIR_IDS.join(',')}`);
    if (t.columns.filter((c) => c.kind === 'avg').length !== 1) throw new UserError(`${file}: expected exactly one Avg column`);
  }
}

const cache = new Map<string, PaperTable>();

/** Table n (1–5) of the paper, validated. */
export function paperTable(n: number, dir = PAPER_DIR): PaperTable {
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new UserError(`the paper has Tables 1–5, not ${n}`);
  const file = tableFile(n, dir);
  const key = `${file}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const t = readValidated(file, TableSchema);
  checkTable(t, n, file);
  cache.set(key, t);
  return t;
}

/** Forgets loaded tables (after the files changed). */
export function clearPaperCache(): void {
  cache.clear();
}

/** How many decimals a printed number has ("76.1" → 1, "33.30" → 2). */
export function decimalsOf(printed: string): number {
  const dot = printed.indexOf('.');
  return dot < 0 ? 0 : printed.length - dot - 1;
}

export interface BeirRow {
  table: number;
  id: string;
  group?: string;
  label: string;
  avg: number;
  /** nDCG@10 × 100 per BEIR id, as printed. */
  values: Record<BeirId, number>;
  /** decimals printed per BEIR id (all 2 except one cell of Table 3) and for Avg. */
  decimals: Record<BeirId, number> & { avg: number };
}

/** Tables 2, 3 or 4 as numeric rows. */
export function beirRows(n: 2 | 3 | 4, dir = PAPER_DIR): BeirRow[] {
  const t = paperTable(n, dir);
  return t.rows.map((row) => {
    const values = {} as Record<BeirId, number>;
    const decimals = {} as Record<BeirId, number> & { avg: number };
    let avg = NaN;
    t.columns.forEach((c, k) => {
      if (c.kind === 'avg') {
        avg = Number(row.cells[k]);
        decimals.avg = decimalsOf(row.cells[k]);
      } else if (c.kind === 'dataset' && c.dataset) {
        values[c.dataset] = Number(row.cells[k]);
        decimals[c.dataset] = decimalsOf(row.cells[k]);
      }
    });
    return { table: n, id: row.id, ...(row.group ? { group: row.group } : {}), label: row.label, avg, values, decimals };
  });
}

export interface AblationRow extends BeirRow {
  prompt: boolean;
  length: boolean | 'eval-only';
}

/** Table 4's rows with their settings (the † row has +Length applied only at evaluation). */
export function ablationRows(dir = PAPER_DIR): AblationRow[] {
  const t = paperTable(4, dir);
  const pi = t.columns.findIndex((c) => c.label === '+Prompt');
  const li = t.columns.findIndex((c) => c.label === '+Length');
  return beirRows(4, dir).map((r, i) => {
    const prompt = MARKS[t.rows[i].cells[pi] as keyof typeof MARKS];
    if (prompt === 'eval-only') throw new UserError(`${tableFile(4, dir)}: rows.${i} (${r.id}): +Prompt cannot be "eval-only"`);
    return { ...r, prompt, length: MARKS[t.rows[i].cells[li] as keyof typeof MARKS] };
  });
}

export interface DeltaCell {
  delta: number;
  value: number;
}
export interface DeltaRow {
  id: string;
  group?: string;
  label: string;
  baseline: number;
  prompt: DeltaCell | null;
  length: DeltaCell | null;
  both: DeltaCell | null;
}

function parseDelta(cell: string): DeltaCell | null {
  if (NONE.has(cell)) return null;
  const m = DELTA.exec(cell);
  if (!m) throw new UserError(`Table 5 cell "${cell}" is not "±d (v)"`);
  return { delta: (m[1] === '+' ? 1 : -1) * Number(m[2]), value: Number(m[3]) };
}

/** Table 5: baseline and the +Prompt / +Length / +Both cells. */
export function deltaRows(dir = PAPER_DIR): DeltaRow[] {
  const t = paperTable(5, dir);
  const col = (label: string) => {
    const k = t.columns.findIndex((c) => c.label === label);
    if (k < 0) throw new UserError(`${tableFile(5, dir)}: no column "${label}"`);
    return k;
  };
  const [b, p, l, both] = ['Baseline', '+Prompt', '+Length', '+Both'].map(col);
  return t.rows.map((r) => ({
    id: r.id,
    ...(r.group ? { group: r.group } : {}),
    label: r.label,
    baseline: Number(r.cells[b]),
    prompt: parseDelta(r.cells[p]),
    length: parseDelta(r.cells[l]),
    both: parseDelta(r.cells[both]),
  }));
}

/** Table 5's columns → the Table 4 row (same group and stage) each one is computed from. */
export const TABLE5_TO_TABLE4 = {
  baseline: 'prompt-no-length-no',
  prompt: 'prompt-yes-length-no',
  length: 'prompt-no-length-yes',
  both: 'prompt-yes-length-yes',
} as const;

export interface PhaseSettings {
  phase: 'unsupervised' | 'supervised' | 'kd';
  /** learning-rate sweep bounds as printed, [high, low], swept logarithmically over `lrValues` values */
  lrRange: [number, number];
  lrValues: number;
  /** effective batch size (KD: with gradient accumulation) */
  batchSize: number;
  gradientAccumulation: number;
  /** InfoNCE temperature; null for KD ("n.a.") */
  temperature: number | null;
  /** lengths in tokens, prompt tokens included */
  queryLength: number;
  documentLength: number;
  gpuHours: number;
  gpus: number;
  gpu: string;
}

/** Table 1 parsed into typed settings per phase. */
export function trainingSettings(dir = PAPER_DIR): PhaseSettings[] {
  const t = paperTable(1, dir);
  const file = tableFile(1, dir);
  const facts = t.captionFacts;
  if (!facts) throw new UserError(`${file}: missing "captionFacts"`);
  const col = (label: string) => {
    const k = t.columns.findIndex((c) => c.label === label);
    if (k < 0) throw new UserError(`${file}: no column "${label}"`);
    return k;
  };
  const num = (r: number, label: string, text: string) => {
    if (!/^\d+(\.\d+)?$/.test(text)) throw new UserError(`${file}: rows.${r} column "${label}": "${text}" is not a number`);
    return Number(text);
  };
  return t.rows.map((row, r) => {
    const phase = row.id;
    if (phase !== 'unsupervised' && phase !== 'supervised' && phase !== 'kd') throw new UserError(`${file}: rows.${r}: unknown phase "${row.id}"`);
    const lr = /^\[(\d(?:\.\d+)?e-\d+), (\d(?:\.\d+)?e-\d+)\]$/.exec(row.cells[col('LR sweep range')]);
    if (!lr) throw new UserError(`${file}: rows.${r} column "LR sweep range": "${row.cells[col('LR sweep range')]}" is not "[a, b]"`);
    const bsText = row.cells[col('Batch size')];
    const starred = bsText.endsWith('*');
    const temp = row.cells[col('Temp.')];
    const nodes = facts.nodes[phase];
    if (nodes === undefined) throw new UserError(`${file}: captionFacts.nodes has no "${phase}"`);
    return {
      phase,
      lrRange: [Number(lr[1]), Number(lr[2])],
      lrValues: facts.lrValuesPerPhase,
      batchSize: num(r, 'Batch size', starred ? bsText.slice(0, -1) : bsText),
      gradientAccumulation: starred ? facts.kdGradientAccumulation : 1,
      temperature: temp === 'n.a.' ? null : num(r, 'Temp.', temp),
      queryLength: num(r, 'Query length', row.cells[col('Query length')]),
      documentLength: num(r, 'Doc. length', row.cells[col('Doc. length')]),
      gpuHours: num(r, 'GPU hours', row.cells[col('GPU hours')]),
      gpus: nodes * facts.gpusPerNode,
      gpu: facts.gpu,
    };
  });
}

/** The value of one printed cell. */
export function cellValue(ref: CellRef, dir = PAPER_DIR): number {
  const t = paperTable(ref.table, dir);
  const r = t.rows.find((x) => x.id === ref.row);
  if (!r) throw new UserError(`Table ${ref.table} has no row "${ref.row}"`);
  const k = t.columns.findIndex((c) => c.label === ref.column);
  if (k < 0) throw new UserError(`Table ${ref.table} has no column "${ref.column}"`);
  const cell = r.cells[k];
  if (ref.part) {
    const d = parseDelta(cell);
    if (!d) throw new UserError(`Table ${ref.table} row "${ref.row}" column "${ref.column}" is empty ("${cell}")`);
    return d[ref.part];
  }
  if (ref.table === 1) {
    const m = /^(\d+(?:\.\d+)?)\*?$/.exec(cell);
    if (!m) throw new UserError(`Table 1 row "${ref.row}" column "${ref.column}": "${cell}" is not a number`);
    return Number(m[1]);
  }
  if (!NUMBER.test(cell)) throw new UserError(`Table ${ref.table} row "${ref.row}" column "${ref.column}": "${cell}" is not a number`);
  return Number(cell);
}

/** Evaluates an expression over the tables. */
export function evalExpr(e: Expr, dir = PAPER_DIR): number {
  if ('cell' in e) return cellValue(e.cell, dir);
  if ('const' in e) return e.const;
  if ('add' in e) return e.add.reduce((s, x) => s + evalExpr(x, dir), 0);
  if ('sub' in e) return evalExpr(e.sub[0], dir) - evalExpr(e.sub[1], dir);
  if ('div' in e) return evalExpr(e.div[0], dir) / evalExpr(e.div[1], dir);
  if ('max' in e) return Math.max(...e.max.map((x) => evalExpr(x, dir)));
  return Math.min(...e.min.map((x) => evalExpr(x, dir)));
}

/** Rounds away float noise (1.25 − 1e-15) so that printed-precision comparisons are exact. */
function clean(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

export function passes(value: number, test: ClaimTest): boolean {
  const v = clean(value);
  switch (test.op) {
    case '>':
      return v > test.value;
    case '<':
      return v < test.value;
    case '>=':
      return v >= test.value;
    case '<=':
      return v <= test.value;
    case '≈':
      return Math.abs(v - test.value) <= test.tolerance + 1e-9;
    case 'between':
      return v >= test.low && v <= test.high;
  }
}

/** Recomputes a claim from the tables: each quoted number and each check, and the verdict. */
export function evaluateClaim(c: Claim, dir = PAPER_DIR): Claim & { verdict: Verdict } {
  const quotes = c.quotes.map((q) => {
    const v = clean(evalExpr(q.expr, dir));
    const half = 0.5 * 10 ** -decimalsOf(q.quoted);
    return { ...q, recomputed: v, pass: Math.abs(v - Number(q.quoted)) <= half + 1e-9 };
  });
  const checks = c.checks.map((k) => {
    const v = clean(evalExpr(k.expr, dir));
    return { ...k, recomputed: v, pass: passes(v, k.test) };
  });
  const all = [...quotes, ...checks];
  const passed = all.filter((x) => x.pass).length;
  const verdict: Verdict = passed === all.length ? 'supported' : passed === 0 ? 'contradicted' : 'partly supported';
  return { ...c, quotes, checks, verdict };
}

export function claimsFile(dir = PAPER_DIR): string {
  return path.join(dir, 'claims.json');
}

/** The text's claims as committed (with their recorded recomputations and verdicts). */
export function claims(dir = PAPER_DIR): Claim[] {
  const file = claimsFile(dir);
  const parsed = readValidated(file, ClaimsFileSchema);
  const ids = new Set<string>();
  parsed.claims.forEach((c, i) => {
    if (ids.has(c.id)) throw new UserError(`${file}: claims.${i}: duplicate id "${c.id}"`);
    ids.add(c.id);
  });
  return parsed.claims;
}

/** Recomputes every claim and writes claims.json back (atomically) with the recomputed values and verdicts. */
export function updateClaimsFile(dir = PAPER_DIR): Claim[] {
  const file = claimsFile(dir);
  const parsed = readValidated(file, ClaimsFileSchema);
  const out = parsed.claims.map((c) => evaluateClaim(c, dir));
  writeJsonAtomic(file, { description: parsed.description, claims: out });
  return out;
}

export interface AverageCheck {
  table: number;
  row: string;
  printed: number;
  recomputed: number;
  /** allowed |printed − recomputed|: half a unit of the Avg's last digit plus the mean of the cells' half units */
  tolerance: number;
  ok: boolean;
}

/** Each row of Tables 2–4: the mean of its 15 printed datasets against its printed Avg, within rounding. */
export function averageChecks(dir = PAPER_DIR): AverageCheck[] {
  const out: AverageCheck[] = [];
  for (const n of [2, 3, 4] as const) {
    for (const r of beirRows(n, dir)) {
      const mean = BEIR_IDS.reduce((s, d) => s + r.values[d], 0) / BEIR_IDS.length;
      const cellsHalf = BEIR_IDS.reduce((s, d) => s + 0.5 * 10 ** -r.decimals[d], 0) / BEIR_IDS.length;
      const tolerance = 0.5 * 10 ** -r.decimals.avg + cellsHalf;
      out.push({ table: n, row: r.id, printed: r.avg, recomputed: mean, tolerance, ok: Math.abs(mean - r.avg) <= tolerance + 1e-9 });
    }
  }
  return out;
}

export interface DeltaCheck {
  row: string;
  column: 'baseline' | 'prompt' | 'length' | 'both';
  table4Row: string;
  /** Table 5's printed delta (null for the baseline) and value */
  printedDelta: number | null;
  printedValue: number;
  /** Table 4: this row's Avg, and its Avg minus the baseline row's Avg */
  table4Value: number;
  table4Delta: number | null;
  ok: boolean;
}

/** Table 5 against Table 4: every printed value is the Table 4 Avg of the same setting, every delta the difference. */
export function table5Checks(dir = PAPER_DIR): DeltaCheck[] {
  const t4 = new Map(beirRows(4, dir).map((r) => [r.id, r.avg]));
  const avg4 = (id: string) => {
    const v = t4.get(id);
    if (v === undefined) throw new UserError(`Table 5 row refers to Table 4 row "${id}", which does not exist`);
    return v;
  };
  const out: DeltaCheck[] = [];
  for (const r of deltaRows(dir)) {
    const base4 = avg4(`${r.id}/${TABLE5_TO_TABLE4.baseline}`);
    out.push({ row: r.id, column: 'baseline', table4Row: `${r.id}/${TABLE5_TO_TABLE4.baseline}`, printedDelta: null, printedValue: r.baseline, table4Value: base4, table4Delta: null, ok: clean(r.baseline - base4) === 0 });
    for (const col of ['prompt', 'length', 'both'] as const) {
      const cell = r[col];
      if (!cell) continue;
      const id = `${r.id}/${TABLE5_TO_TABLE4[col]}`;
      const v4 = avg4(id);
      const d4 = clean(v4 - base4);
      out.push({ row: r.id, column: col, table4Row: id, printedDelta: cell.delta, printedValue: cell.value, table4Value: v4, table4Delta: d4, ok: clean(cell.value - v4) === 0 && clean(cell.delta - d4) === 0 });
    }
  }
  return out;
}

/**
 * Rows that report the same model in several tables (by the tables' own labels and settings): Table 2's
 * pipelines are Table 4's +Prompt +Length rows, Table 3 regroups Table 2 and Table 4 rows by base model.
 */
export const SAME_MODEL_ROWS: { model: string; rows: { table: 2 | 3 | 4; row: string }[] }[] = [
  { model: 'ModernBERT-embed-unsupervised', rows: [{ table: 2, row: 'baselines/modernbert-embed-unsupervised' }, { table: 3, row: 'modernbert-embed-unsupervised-with-prompts' }] },
  { model: 'KD-only, prompts and length', rows: [{ table: 2, row: 'kd-from-dense-supervised/embed-base-distilled' }, { table: 4, row: 'kd-from-dense-supervised-with-prompts/distilled/prompt-yes-length-yes' }] },
  { model: 'supervised stage from the dense unsupervised base', rows: [{ table: 2, row: 'supervised-plus-kd-from-dense-unsupervised/embed-base-supervised' }, { table: 4, row: 'supervised-plus-kd-from-dense-unsupervised-with-prompts/supervised/prompt-yes-length-yes' }] },
  { model: 'supervised + KD from the dense unsupervised base, with prompts', rows: [{ table: 2, row: 'supervised-plus-kd-from-dense-unsupervised/embed-base-distilled' }, { table: 3, row: 'modernbert-embed-unsupervised-with-prompts/supervised-plus-kd-with-prompts' }, { table: 4, row: 'supervised-plus-kd-from-dense-unsupervised-with-prompts/distilled/prompt-yes-length-yes' }] },
  { model: 'supervised + KD from the dense unsupervised base, without prompts', rows: [{ table: 3, row: 'modernbert-embed-unsupervised-with-prompts/supervised-plus-kd-without-prompts' }, { table: 4, row: 'supervised-plus-kd-from-dense-unsupervised-with-prompts/distilled/prompt-no-length-no' }] },
  { model: 'ColBERT-Zero unsupervised', rows: [{ table: 2, row: 'colbert-zero-full-pre-training/unsupervised' }, { table: 3, row: 'colbert-zero-unsupervised-with-prompts' }] },
  { model: 'ColBERT-Zero supervised', rows: [{ table: 2, row: 'colbert-zero-full-pre-training/supervised' }, { table: 4, row: 'supervised-plus-kd-from-colbert-unsupervised-with-prompts/supervised/prompt-yes-length-yes' }] },
  { model: 'ColBERT-Zero', rows: [{ table: 2, row: 'colbert-zero-full-pre-training/distilled' }, { table: 3, row: 'colbert-zero-unsupervised-with-prompts/supervised-plus-kd-with-prompts' }, { table: 4, row: 'supervised-plus-kd-from-colbert-unsupervised-with-prompts/distilled/prompt-yes-length-yes' }] },
  { model: 'supervised + KD from the ColBERT base, without prompts in fine-tuning', rows: [{ table: 3, row: 'colbert-zero-unsupervised-with-prompts/supervised-plus-kd-without-prompts' }, { table: 4, row: 'supervised-plus-kd-from-colbert-unsupervised-with-prompts/distilled/prompt-no-length-no' }] },
  { model: 'ColBERT base without prompts, fine-tuned with prompts', rows: [{ table: 3, row: 'colbert-zero-unsupervised-without-prompts/supervised-plus-kd-with-prompts' }, { table: 4, row: 'supervised-plus-kd-from-colbert-unsupervised-without-prompts/distilled/prompt-yes-length-yes' }] },
  { model: 'ColBERT base without prompts, fine-tuned without prompts', rows: [{ table: 3, row: 'colbert-zero-unsupervised-without-prompts/supervised-plus-kd-without-prompts' }, { table: 4, row: 'supervised-plus-kd-from-colbert-unsupervised-without-prompts/distilled/prompt-no-length-no' }] },
];

/** The same model's rows in different tables must print the same 16 numbers; returns each disagreement. */
export function sameModelMismatches(dir = PAPER_DIR): string[] {
  const rows = new Map<string, BeirRow>();
  for (const n of [2, 3, 4] as const) for (const r of beirRows(n, dir)) rows.set(`${n}:${r.id}`, r);
  const out: string[] = [];
  for (const g of SAME_MODEL_ROWS) {
    const [first, ...rest] = g.rows.map((x) => {
      const r = rows.get(`${x.table}:${x.row}`);
      if (!r) throw new UserError(`Table ${x.table} has no row "${x.row}"`);
      return r;
    });
    for (const r of rest) {
      if (r.avg !== first.avg) out.push(`${g.model}: Avg ${first.avg} in Table ${first.table} vs ${r.avg} in Table ${r.table}`);
      for (const d of BEIR_IDS) if (r.values[d] !== first.values[d]) out.push(`${g.model}: ${d} ${first.values[d]} in Table ${first.table} vs ${r.values[d]} in Table ${r.table}`);
    }
  }
  return out;
}

export type PaperPipeline = 'a' | 'b' | 'c';

/**
 * The three pipelines of Figure 2 as Table 2 rows and the Table 1 phases each runs in the ColBERT setting:
 * (a) KD-only from the dense supervised model, (b) supervised + KD from the dense unsupervised model,
 * (c) ColBERT-Zero, every phase. The dense phases that (a) and (b) start from were trained by Nomic and are
 * not counted, as in the paper's "40 GH200-hours instead of 408".
 */
export const PAPER_PIPELINES: Record<PaperPipeline, { name: string; table2Row: string; phases: PhaseSettings['phase'][] }> = {
  a: { name: 'KD-only', table2Row: 'kd-from-dense-supervised/embed-base-distilled', phases: ['kd'] },
  b: { name: 'supervised + KD', table2Row: 'supervised-plus-kd-from-dense-unsupervised/embed-base-distilled', phases: ['supervised', 'kd'] },
  c: { name: 'ColBERT-Zero', table2Row: 'colbert-zero-full-pre-training/distilled', phases: ['unsupervised', 'supervised', 'kd'] },
};

/** Table 1 × Table 2: each pipeline's BEIR average and the GPU-hours of the phases it runs. */
export function pipelineCosts(dir = PAPER_DIR): { pipeline: PaperPipeline; name: string; avg: number; gpuHours: number }[] {
  const rows = new Map(beirRows(2, dir).map((r) => [r.id, r]));
  const hours = new Map(trainingSettings(dir).map((s) => [s.phase, s.gpuHours]));
  return (Object.keys(PAPER_PIPELINES) as PaperPipeline[]).map((p) => {
    const def = PAPER_PIPELINES[p];
    const row = rows.get(def.table2Row);
    if (!row) throw new UserError(`Table 2 has no row "${def.table2Row}" (pipeline ${p})`);
    return { pipeline: p, name: def.name, avg: row.avg, gpuHours: def.phases.reduce((s, ph) => s + hours.get(ph)!, 0) };
  });
}

export interface AlignmentRow {
  /** Table 5's group, e.g. "Supervised + KD from ColBERT unsupervised (without prompts)". */
  group: string;
  /** "Supervised" or "Distilled". */
  stage: string;
  /** Whether the model fine-tuned here was pre-trained (unsupervised phase) with prompts. */
  pretrainedWithPrompts: boolean;
  /** Table 5's Δ of adding the prompts alone, and prompts with +Length, to fine-tuning (null where printed "–"). */
  addPrompt: number | null;
  addBoth: number | null;
  /** Fine-tuning with prompts matches pre-training (always true for +Prompt / +Both on a with-prompts model). */
  aligned: boolean;
}

/**
 * The alignment finding (Section 3.2, Appendix A) in Table 5's numbers: for each group and stage, what
 * adding prompts to fine-tuning did, and whether that matched how the model was pre-trained. `holds`:
 * at the distilled stage (the final models), every with-prompts model gained from prompts (+Both > 0) and
 * every without-prompts model lost (+Both < 0). The supervised stage is reported, not judged: there
 * +Both is negative even for aligned models (the paper's token-budget trade-off, Appendix A).
 */
export function promptAlignment(dir = PAPER_DIR): { rows: AlignmentRow[]; holds: boolean } {
  const rows = deltaRows(dir).map((r) => {
    const g = r.group ?? r.id;
    const m = /\((with|without) prompts\)/.exec(g);
    if (!m) throw new UserError(`Table 5 row "${r.id}": its group does not say "with prompts" or "without prompts"`);
    const pretrainedWithPrompts = m[1] === 'with';
    return { group: g, stage: r.label, pretrainedWithPrompts, addPrompt: r.prompt?.delta ?? null, addBoth: r.both?.delta ?? null, aligned: pretrainedWithPrompts };
  });
  const distilled = rows.filter((r) => r.stage === 'Distilled' && r.addBoth !== null);
  const holds = distilled.length > 0 && distilled.some((r) => !r.pretrainedWithPrompts) && distilled.every((r) => (r.pretrainedWithPrompts ? r.addBoth! > 0 : r.addBoth! < 0));
  return { rows, holds };
}
