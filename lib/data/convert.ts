/**
 * The paper's training sets, from the parquet files the Hub ships (a `data fetch` / `data import` copy) to
 * the JSONL files that the scripts of `export-pylate` read (lib/pipelines/export-pylate.ts, EXPORT_DATA;
 * in the scripts, load_sources / contrastive_sources / distillation_sources):
 *
 *   nomic-embed-unsupervised-data (pairs-parquet)     one <source>.jsonl per source: {"query", "document"}
 *   nomic-embed-supervised        (triplets-parquet)  one <source>.jsonl per source: {"query", "positive", "negatives"}
 *   ms-marco-en-bge-gemma         (kd-parquet)        ms-marco-en-bge-gemma.jsonl:   {"query", "documents", "scores"}
 *
 * Each exported script treats one file as one source (a batch never mixes sources), so the Nomic mixtures
 * become one file per split, as PyLate's ColBERT-Zero scripts load them split by split.
 *
 * Where the column layouts come from (the defaults of CONVERT_LAYOUTS; `columns` names others):
 * - unsupervised: `query`, `document` (the files also carry `dataset` and `shard`, dropped). PyLate's
 *   examples/train/ColBERT-zero/unsupervised.py trains on those two columns and removes the other two; the
 *   repository's files are `data/<split>-NNNNN-of-NNNNN.parquet` (its Hub file listing), so a file's source
 *   is its name without the shard suffix.
 * - supervised: `query`, `document` (the positive), `negative` (a list of texts), and `dataset`.
 *   PyLate's examples/train/ColBERT-zero/supervised.py reads `negative` as a list and drops `dataset`.
 *   This repository's file names were not seen here: the source is taken from the file name as for the
 *   unsupervised set, or from the folder when the name is a bare shard (`train-00000-of-00001`, `0000`);
 *   a copy that keeps all sources in one split names each row's source with `sourceColumn: 'dataset'`.
 * - distillation: three configs, `train` (`query_id`, `document_ids`, `scores`), `queries` (`query_id`,
 *   `text`) and `documents` (`document_id`, `text`): PyLate's examples/train/ColBERT-zero/distillation.py
 *   loads these configs and joins them by id (pylate.utils.KDProcessing). The types (string ids, float32
 *   scores) are those the card of lightonai/ms-marco-en-bge gives for the same layout; the gemma
 *   repository's own card was not read here, so ids are compared as text whatever their parquet type, and
 *   each file's config is told by its columns, not its name.
 *
 * Files are read one row group at a time (hyparquet), never whole. The distillation join keeps no text in
 * memory: queries and documents are spooled to a file inside the output's temporary folder, with an index
 * from id to offset (typed arrays for numeric ids such as MS MARCO's, a Map otherwise). The output folder
 * is written whole or not at all (lib/util/output.ts: a new or empty folder, or a previous conversion with
 * `overwrite`); the inputs are only read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { checkOutput, writeOutputDir } from '../util/output';
import { progressBar, type Progress } from '../util/progress';
import { openParquet, requireColumns, type ParquetStream } from './parquet';
import type { Manifest } from './manifests/schema';

const CONVERT_COMMAND = 'data convert';

export type Objective = 'unsupervised' | 'supervised' | 'distillation';

/** Per manifest format: the phase whose scripts read the output, and each role's default column. */
export const CONVERT_LAYOUTS: Record<string, { objective: Objective; columns: Record<string, string> }> = {
  'pairs-parquet': { objective: 'unsupervised', columns: { query: 'query', document: 'document' } },
  'triplets-parquet': { objective: 'supervised', columns: { query: 'query', positive: 'document', negatives: 'negative' } },
  'kd-parquet': { objective: 'distillation', columns: { query_id: 'query_id', document_ids: 'document_ids', scores: 'scores', document_id: 'document_id', text: 'text' } },
};

export interface ConvertOptions {
  manifest: Manifest;
  /** The folder of parquet files (a cache copy, or any folder in the dataset's layout); only read. */
  from: string;
  /** The output folder: new, empty, or a previous conversion (with `overwrite`). */
  out: string;
  overwrite?: boolean;
  /** Role -> column, for columns named otherwise than in CONVERT_LAYOUTS. */
  columns?: Record<string, string>;
  /** Nomic mixtures: name each row's source by this column (e.g. `dataset`) instead of by its file's split. */
  sourceColumn?: string;
  /** A progress bar with this label (on a terminal; see lib/util/progress). */
  progress?: string;
}

export interface ConvertedFile {
  /** The JSONL file's name in the output folder. */
  file: string;
  /** The parquet files it was made from, relative to `from`, in order. */
  inputs: string[];
  lines: number;
  /** Rows left out: a value that is missing or not text (a list of texts for negatives and candidates), or, for distillation, an unknown query or document id or candidates and scores of different lengths. */
  skipped: number;
  /** Supervised: the fewest negatives on a line (an exported script needs at least its phase's `negatives`). */
  minNegatives?: number;
  /** Distillation: the fewest and most candidates on a line (a script needs at least its `candidates`). */
  candidates?: [number, number];
}

export interface ConvertReport {
  id: string;
  format: string;
  objective: Objective;
  out: string;
  columns: Record<string, string>;
  files: ConvertedFile[];
}

/** Every parquet file under `dir`, relative, sorted (hidden names and partial downloads left out). */
function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.parquet')) out.push(r);
    }
  };
  walk('');
  return out.sort();
}

/** The source a Nomic file belongs to: `data/paq-00003-of-00010.parquet` -> paq; `fever/0000.parquet` -> fever. */
export function sourceOf(rel: string): string {
  const parts = rel.split('/');
  const stem = parts.pop()!.replace(/\.parquet$/, '').replace(/-\d+-of-\d+$/, '');
  const generic = (s: string) => /^\d+$/.test(s) || s === 'train' || s === 'data' || s === 'default' || s === '';
  const named = generic(stem) ? [...parts].reverse().find((p) => !generic(p)) : stem;
  return safeName(named ?? 'train');
}

/** A source name as a file name: letters, digits, `_`, `.`, `-` (anything else becomes `_`; no leading dot). */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^\./, '_');
}

function resolveColumns(format: string, given: Record<string, string> | undefined): Record<string, string> {
  const layout = CONVERT_LAYOUTS[format];
  const columns = { ...layout.columns };
  for (const [role, column] of Object.entries(given ?? {})) {
    if (!(role in columns)) throw new UserError(`--columns ${role}=${column}: no such role for ${format} (roles: ${Object.keys(columns).join(', ')})`);
    if (!column) throw new UserError(`--columns ${role}=: give a column name`);
    columns[role] = column;
  }
  return columns;
}

const HINT = ' (name another column with --columns ROLE=COLUMN)';

/**
 * A JSONL file written in blocks of about 4 MB: never a line at a time, and never a whole row group's output
 * at once (a distillation row carries 32 passages, so a row group of 100k rows makes about a gigabyte).
 */
class LineWriter {
  private readonly fd: number;
  private lines: string[] = [];
  private chars = 0;
  private closed = false;
  count = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'wx');
  }

  push(line: string): void {
    this.lines.push(line);
    this.chars += line.length + 1;
    this.count++;
    if (this.chars >= 1 << 22) this.flush();
  }

  flush(): void {
    if (this.lines.length) fs.writeFileSync(this.fd, this.lines.join('\n') + '\n'); // writes it all, in as many calls as it takes
    this.lines = [];
    this.chars = 0;
  }

  /** Writes what is left and closes the file; a second call does nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } finally {
      fs.closeSync(this.fd);
    }
  }
}

/**
 * Converts a copy of one of the paper's training sets to the JSONL the exported scripts read. Checks every
 * input's columns (one line naming the file and the column) and the output path before writing anything.
 */
export async function convertTrainingData(o: ConvertOptions): Promise<ConvertReport> {
  const m = o.manifest;
  const layout = CONVERT_LAYOUTS[m.format];
  if (!layout) throw new UserError(`${m.id}: format ${m.format} is not a training set that data convert takes (formats ${Object.keys(CONVERT_LAYOUTS).join(', ')}: nomic-embed-unsupervised-data, nomic-embed-supervised, ms-marco-en-bge-gemma)`);
  const columns = resolveColumns(m.format, o.columns);
  if (!fs.existsSync(o.from) || !fs.statSync(o.from).isDirectory()) throw new UserError(`${o.from}: no such folder`);
  const rels = parquetFiles(o.from);
  if (rels.length === 0) throw new UserError(`${o.from}: no parquet files`);
  const streams = new Map<string, ParquetStream>();
  for (const rel of rels) streams.set(rel, await openParquet(path.join(o.from, rel)));
  // Nothing to convert is an error, as a file whose rows are all unusable is: never "0 lines" and exit 0.
  const empty = rels.find((r) => streams.get(r)!.rows === 0);
  if (empty) throw new UserError(`${path.join(o.from, empty)}: has no rows (nothing to convert)`);
  if (o.sourceColumn && layout.objective === 'distillation') throw new UserError('--source-column applies to the Nomic mixtures (the distillation set is one source)');
  const plan = layout.objective === 'distillation' ? planDistillation(o.from, streams, columns) : planContrastive(streams, columns, o.sourceColumn);
  checkOutput(o.out, { command: CONVERT_COMMAND, kind: 'dir', overwrite: o.overwrite });

  const total = rels.reduce((n, r) => n + streams.get(r)!.rows, 0);
  const bar = o.progress ? progressBar(o.progress, total, 'rows') : null;
  const counter = { done: 0, bar };
  const report: ConvertReport = { id: m.id, format: m.format, objective: layout.objective, out: path.resolve(o.out), columns, files: [] };
  try {
    await writeOutputDir(o.out, CONVERT_COMMAND, async (tmp) => {
      report.files = 'files' in plan ? await writeContrastive(tmp, plan, streams, columns, layout.objective, o.sourceColumn, counter) : [await writeDistillation(tmp, m.id, plan, streams, columns, counter)];
      fs.writeFileSync(path.join(tmp, 'conversion.json'), JSON.stringify(report, null, 2) + '\n');
    });
  } finally {
    bar?.stop();
  }
  return report;
}

interface Counter {
  done: number;
  bar: Progress | null;
}

function tick(c: Counter, rows: number): void {
  c.done += rows;
  c.bar?.update(c.done);
}

// ------------------------------------------------------------------------------------- contrastive

/** Checks every file's columns (and the source column, when sources are named by one). */
function planContrastive(streams: Map<string, ParquetStream>, columns: Record<string, string>, sourceColumn: string | undefined): { files: string[] } {
  for (const s of streams.values()) requireColumns(s.file, s.columns, [...Object.values(columns), ...(sourceColumn ? [sourceColumn] : [])], sourceColumn ? `${HINT}; --source-column ${sourceColumn} names the source column` : HINT);
  return { files: [...streams.keys()] };
}

/**
 * One JSONL per source, each source's lines in file and row order. The source is the file's split
 * (sourceOf) or, with `sourceColumn`, the row's value in that column (for copies that keep every source in
 * one split and name it in a column, such as `dataset`).
 */
async function writeContrastive(tmp: string, plan: { files: string[] }, streams: Map<string, ParquetStream>, columns: Record<string, string>, objective: Objective, sourceColumn: string | undefined, counter: Counter): Promise<ConvertedFile[]> {
  const bySource = new Map<string, { f: ConvertedFile; w: LineWriter | null }>();
  const entry = (source: string, rel: string) => {
    let e = bySource.get(source);
    if (!e) bySource.set(source, (e = { f: { file: `${source}.jsonl`, inputs: [], lines: 0, skipped: 0 }, w: null }));
    if (e.f.inputs[e.f.inputs.length - 1] !== rel) e.f.inputs.push(rel);
    return e;
  };
  const want = [...Object.values(columns), ...(sourceColumn ? [sourceColumn] : [])];
  try {
    for (const rel of plan.files) {
      const s = streams.get(rel)!;
      const fileSource = sourceOf(rel);
      for (let g = 0; g < s.groups.length; g++) {
        const rows = await s.readGroup(g, want);
        for (const r of rows) {
          let source = fileSource;
          if (sourceColumn) {
            const named = r[sourceColumn];
            if (!isText(named) || !named) throw new UserError(`${s.file}: a row of row group ${g} has no ${sourceColumn} (the --source-column), so its source is unknown`);
            source = safeName(named);
          }
          const e = entry(source, rel);
          const line = objective === 'unsupervised' ? pairLine(r, columns) : tripletLine(r, columns, e.f);
          if (line === null) {
            e.f.skipped++;
            continue;
          }
          e.w ??= new LineWriter(path.join(tmp, e.f.file));
          e.w.push(line);
        }
        tick(counter, rows.length);
      }
    }
  } finally {
    for (const e of bySource.values()) e.w?.close();
  }
  const out: ConvertedFile[] = [];
  for (const { f, w } of bySource.values()) {
    f.lines = w?.count ?? 0;
    if (f.lines === 0) throw new UserError(`${f.inputs.join(', ')}: no usable rows for ${f.file} (${f.skipped} left out: a value missing or not text)`);
    out.push(f);
  }
  return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

const isText = (v: unknown): v is string => typeof v === 'string';

/** A list value as an array (hyparquet gives numeric lists as plain or typed arrays), or null. */
function asList(v: unknown): unknown[] | null {
  return Array.isArray(v) ? v : ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<unknown>) : null;
}

function pairLine(r: Record<string, unknown>, c: Record<string, string>): string | null {
  const query = r[c.query];
  const document = r[c.document];
  return isText(query) && isText(document) ? JSON.stringify({ query, document }) : null;
}

function tripletLine(r: Record<string, unknown>, c: Record<string, string>, f: ConvertedFile): string | null {
  const query = r[c.query];
  const positive = r[c.positive];
  const negatives = asList(r[c.negatives]);
  if (!isText(query) || !isText(positive) || !negatives || !negatives.every(isText)) return null;
  f.minNegatives = Math.min(f.minNegatives ?? Infinity, negatives.length);
  return JSON.stringify({ query, positive, negatives });
}

// ------------------------------------------------------------------------------------ distillation

type KdConfig = 'train' | 'queries' | 'documents';
type KdPlan = Record<KdConfig, string[]>;

/** Each file's config by its columns (the Hub's file names differ between repositories of this layout). */
function planDistillation(from: string, streams: Map<string, ParquetStream>, c: Record<string, string>): KdPlan {
  const plan: KdPlan = { train: [], queries: [], documents: [] };
  const need: Record<KdConfig, string[]> = { train: [c.query_id, c.document_ids, c.scores], queries: [c.query_id, c.text], documents: [c.document_id, c.text] };
  for (const [rel, s] of streams) {
    const has = (k: string) => s.columns.includes(k);
    const config: KdConfig | null = has(c.document_ids) || has(c.scores) ? 'train' : has(c.document_id) ? 'documents' : has(c.query_id) ? 'queries' : null;
    if (!config) throw new UserError(`${s.file}: no column "${c.document_ids}", "${c.document_id}" or "${c.query_id}" (has ${s.columns.join(', ')}), so it is none of train, documents, queries${HINT}`);
    requireColumns(s.file, s.columns, need[config], HINT);
    plan[config].push(rel);
  }
  for (const k of ['train', 'queries', 'documents'] as const) {
    if (plan[k].length === 0) throw new UserError(`${from}: no parquet file of the ${k} config (columns ${need[k].join(', ')})${HINT}`);
  }
  return plan;
}

/**
 * Texts by id, spooled to a file: `add` appends, `get` reads one text back with a positioned read. Numeric
 * ids (MS MARCO's) index typed arrays; other ids a Map. A repeated id keeps its first text.
 */
class SpooledTexts {
  private readonly fd: number;
  private at = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private start = new Float64Array(1024); // offset + 1; 0 = absent
  private length = new Uint32Array(1024);
  private readonly other = new Map<string, [number, number]>();
  private buf = Buffer.alloc(1 << 16);

  constructor(file: string) {
    this.fd = fs.openSync(file, 'wx+');
  }

  private slot(id: string): number {
    return /^(0|[1-9]\d{0,8})$/.test(id) && Number(id) < 1 << 27 ? Number(id) : -1;
  }

  add(id: string, text: string): void {
    const n = this.slot(id);
    if (n >= 0 ? n < this.start.length && this.start[n] > 0 : this.other.has(id)) return;
    const bytes = Buffer.from(text, 'utf8');
    if (n >= 0) {
      if (n >= this.start.length) {
        const size = Math.max(n + 1, this.start.length * 2);
        const start = new Float64Array(size);
        start.set(this.start);
        const length = new Uint32Array(size);
        length.set(this.length);
        this.start = start;
        this.length = length;
      }
      this.start[n] = this.at + 1;
      this.length[n] = bytes.length;
    } else {
      this.other.set(id, [this.at, bytes.length]);
    }
    this.at += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= 1 << 23) this.flush();
  }

  flush(): void {
    if (this.pending.length) fs.writeFileSync(this.fd, Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** The text of `id`, or undefined; call flush() after the last add. */
  get(id: string): string | undefined {
    const n = this.slot(id);
    let pos: number;
    let len: number;
    if (n >= 0) {
      if (n >= this.start.length || this.start[n] === 0) return undefined;
      pos = this.start[n] - 1;
      len = this.length[n];
    } else {
      const e = this.other.get(id);
      if (!e) return undefined;
      [pos, len] = e;
    }
    if (len > this.buf.length) this.buf = Buffer.alloc(len);
    let got = 0;
    while (got < len) {
      const r = fs.readSync(this.fd, this.buf, got, len - got, pos + got);
      if (r === 0) throw new Error(`spool: short read at ${pos}`);
      got += r;
    }
    return this.buf.toString('utf8', 0, len);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}

/** An id as text, whatever its parquet type (string, int32, int64 as bigint). */
function idText(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : null;
}

async function spool(into: SpooledTexts, rels: string[], streams: Map<string, ParquetStream>, idColumn: string, textColumn: string, counter: Counter): Promise<void> {
  for (const rel of rels) {
    const s = streams.get(rel)!;
    for (let g = 0; g < s.groups.length; g++) {
      const rows = await s.readGroup(g, [idColumn, textColumn]);
      for (const r of rows) {
        const id = idText(r[idColumn]);
        const text = r[textColumn];
        if (id !== null && isText(text)) into.add(id, text);
      }
      tick(counter, rows.length);
    }
  }
  into.flush();
}

async function writeDistillation(tmp: string, id: string, plan: KdPlan, streams: Map<string, ParquetStream>, c: Record<string, string>, counter: Counter): Promise<ConvertedFile> {
  const file = `${id}.jsonl`;
  const queries = new SpooledTexts(path.join(tmp, '.queries.spool'));
  const documents = new SpooledTexts(path.join(tmp, '.documents.spool'));
  const f: ConvertedFile = { file, inputs: [...plan.train, ...plan.queries, ...plan.documents], lines: 0, skipped: 0 };
  try {
    await spool(queries, plan.queries, streams, c.query_id, c.text, counter);
    await spool(documents, plan.documents, streams, c.document_id, c.text, counter);
    const w = new LineWriter(path.join(tmp, file));
    try {
      let fewest = Infinity;
      let most = 0;
      for (const rel of plan.train) {
        const s = streams.get(rel)!;
        for (let g = 0; g < s.groups.length; g++) {
          const rows = await s.readGroup(g, [c.query_id, c.document_ids, c.scores]);
          let ticked = 0; // a train row costs its 32 look-ups: the bar moves within the group
          for (const [i, r] of rows.entries()) {
            if (i - ticked >= 1024) {
              tick(counter, i - ticked);
              ticked = i;
            }
            const qid = idText(r[c.query_id]);
            const ids = asList(r[c.document_ids]);
            const scores = asList(r[c.scores]);
            const query = qid === null ? undefined : queries.get(qid);
            if (query === undefined || !ids || !scores || ids.length !== scores.length || ids.length === 0) {
              f.skipped++;
              continue;
            }
            const texts: string[] = [];
            for (const d of ids) {
              const key = idText(d);
              const text = key === null ? undefined : documents.get(key);
              if (text === undefined) break;
              texts.push(text);
            }
            if (texts.length !== ids.length || !scores.every((x) => typeof x === 'number' && Number.isFinite(x))) {
              f.skipped++;
              continue;
            }
            fewest = Math.min(fewest, texts.length);
            most = Math.max(most, texts.length);
            w.push(JSON.stringify({ query, documents: texts, scores }));
          }
          tick(counter, rows.length - ticked);
        }
      }
      w.close();
      f.lines = w.count;
      if (f.lines === 0) throw new UserError(`${plan.train.join(', ')}: no usable rows (${f.skipped} left out: an unknown query or document id, or candidates and scores of different lengths)`);
      f.candidates = [fewest, most];
    } finally {
      w.close();
    }
  } finally {
    queries.close();
    documents.close();
    fs.rmSync(path.join(tmp, '.queries.spool'), { force: true });
    fs.rmSync(path.join(tmp, '.documents.spool'), { force: true });
  }
  return f;
}
