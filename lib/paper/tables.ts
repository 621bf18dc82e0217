/**
 * The paper's Tables 1–5 as data: the transcription committed under `results/paper/` (one file per table,
 * every cell as printed), validated on load, with typed accessors. Nothing here holds a number of the
 * paper: every value comes from the committed files.
 *
 *   paperTable(n)          the validated table n (1–5)
 *   beirRows(n)            Tables 2–4 as rows of numbers: { id, group, label, avg, values: {beirId: nDCG@10} }
 *   ablationRows()         Table 4's rows with their +Prompt / +Length settings
 *   deltaRows()            Table 5's rows: baseline and { delta, value } per setting (null where printed "–")
 *   cellValue(ref)         one printed cell as a number
 *
 * Table 1 is read by lib/paper/training.ts, the text's claims by lib/paper/claims.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';

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
export interface CellRef {
  table: number;
  row: string;
  column: string;
  part?: 'delta' | 'value';
}

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join('.') : '(top level)';
}

/** Reads and validates one file of the transcription; errors name the file and the key. */
export function readValidated<T>(file: string, schema: z.ZodType<T>): T {
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

export function tableFile(n: number, dir: string): string {
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

/** Rounds away float noise (1.25 − 1e-15) so that printed-precision comparisons are exact. */
export function clean(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}
