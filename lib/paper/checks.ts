/**
 * What the tables must agree on, recomputed from the transcription: every Avg is the mean of its row,
 * Table 5 is Table 4's differences, the same model prints the same numbers in every table; and the
 * prompt-alignment finding read off Table 5.
 */
import { UserError } from '../util/errors';
import { beirRows, clean, deltaRows, BEIR_IDS, PAPER_DIR, type BeirRow } from './tables';

/** Table 5's columns → the Table 4 row (same group and stage) each one is computed from. */
const TABLE5_TO_TABLE4 = {
  baseline: 'prompt-no-length-no',
  prompt: 'prompt-yes-length-no',
  length: 'prompt-no-length-yes',
  both: 'prompt-yes-length-yes',
} as const;

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
const SAME_MODEL_ROWS: { model: string; rows: { table: 2 | 3 | 4; row: string }[] }[] = [
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
