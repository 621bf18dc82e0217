/**
 * TREC text formats, read the way trec_eval 10.0 reads them (get_trec_results.c, get_qrels.c):
 *   run:   `qid Q0 docid rank score tag [ignored...]`  — whitespace-separated; the rank column is
 *          ignored (ranks come from sorting by score); the run tag of the LAST line is the run id.
 *   qrels: `qid iter docid rel`                        — rel an integer; ≤ 0 non-relevant, < 0 "in pool
 *          but unjudged" (used by infAP / bpref).
 * Lines starting with '#' and blank lines are skipped. Where trec_eval would stop with an error
 * (a short line, the same document twice for one query), we stop too, naming file and line.
 */
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';
import { forEachLine, forEachLineSpan, isBlank, splitWhitespace, where } from './lines';
import type { Qrels, Run } from './types';

export interface TrecRun {
  run: Run;
  /** The tag column of the last line (trec_eval prints it as `runid`). */
  runId: string;
  /** Number of result lines read (comments and blank lines excluded). */
  lines: number;
}

const INTEGER = /^[+-]?\d+$/;

function skippable(text: string): boolean {
  if (isBlank(text)) return true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9) continue;
    return c === 35; // '#'
  }
  return false;
}

/** A score as trec_eval's atof would read it, but strict: the whole field must be a finite number. */
function parseScore(field: string, file: string, lineNo: number): number {
  const v = Number(field);
  if (field.length === 0 || !Number.isFinite(v)) {
    throw new UserError(`${where(file, lineNo)}: score '${field}' is not a finite number`);
  }
  return v;
}

/** Offsets of the first `max` whitespace-separated fields of text[from, n); returns the field count. */
function fieldSpans(text: string, from: number, n: number, spans: Int32Array, max: number): number {
  let i = from;
  let k = 0;
  while (k < max) {
    let c = text.charCodeAt(i);
    while (i < n && (c === 32 || c === 9 || c === 11 || c === 12 || c === 13)) c = text.charCodeAt(++i);
    if (i >= n) break;
    spans[2 * k] = i;
    while (i < n && !(c === 32 || c === 9 || c === 11 || c === 12 || c === 13)) c = text.charCodeAt(++i);
    spans[2 * k + 1] = i;
    k++;
  }
  return k;
}

/**
 * Reads a TREC run file (`qid Q0 docid rank score tag`). Written for speed (runs reach millions of
 * lines): fields are located by offset and only the query id, document id and score are cut out.
 */
export function readTrecRun(file: string): TrecRun {
  const run: Run = new Map();
  let lines = 0;
  let tagChunk = ''; // the run tag is the last line's: keep where it is, cut it out once at the end
  let tagStart = 0;
  let tagEnd = 0;
  let qid = '';
  let docs: Map<string, number> | undefined;
  const sp = new Int32Array(12);
  forEachLineSpan(file, (chunk, start, end, lineNo) => {
    const k = fieldSpans(chunk, start, end, sp, 6);
    if (k === 0 || chunk.charCodeAt(sp[0]) === 35) return; // blank or '#' comment
    if (k < 6) {
      const text = chunk.slice(start, end);
      throw new UserError(
        `${where(file, lineNo)}: expected 6 columns 'qid Q0 docid rank score tag', found ${splitWhitespace(text).length}`,
      );
    }
    const score = parseScore(chunk.slice(sp[8], sp[9]), file, lineNo);
    // consecutive lines usually share the query: reuse its map without cutting the id out again
    if (docs === undefined || sp[1] - sp[0] !== qid.length || !chunk.startsWith(qid, sp[0])) {
      qid = chunk.slice(sp[0], sp[1]);
      docs = run.get(qid);
      if (docs === undefined) run.set(qid, (docs = new Map()));
    }
    const docid = chunk.slice(sp[4], sp[5]);
    const before = docs.size;
    docs.set(docid, score);
    if (docs.size === before) {
      // trec_eval stops here too ("duplicate docs"): a ranking cannot hold one document twice.
      throw new UserError(`${where(file, lineNo)}: document '${docid}' appears twice for query '${qid}'`);
    }
    tagChunk = chunk;
    tagStart = sp[10];
    tagEnd = sp[11];
    lines++;
  });
  if (lines === 0) throw new UserError(`${file}: no result lines (only comments or blank lines)`);
  return { run, runId: tagChunk.slice(tagStart, tagEnd), lines };
}

/** Reads TREC qrels (`qid iter docid rel`). */
export function readTrecQrels(file: string): Qrels {
  const qrels: Qrels = new Map();
  let lines = 0;
  const f: string[] = [];
  forEachLine(file, (text, lineNo) => {
    if (skippable(text)) return;
    splitWhitespace(text, f);
    if (f.length !== 4) {
      throw new UserError(`${where(file, lineNo)}: expected 4 columns 'qid iter docid rel', found ${f.length}`);
    }
    if (!INTEGER.test(f[3])) {
      throw new UserError(`${where(file, lineNo)}: relevance '${f[3]}' is not an integer`);
    }
    let docs = qrels.get(f[0]);
    if (docs === undefined) qrels.set(f[0], (docs = new Map()));
    if (docs.has(f[2])) {
      throw new UserError(`${where(file, lineNo)}: document '${f[2]}' is judged twice for query '${f[0]}'`);
    }
    docs.set(f[2], Number(f[3]));
    lines++;
  });
  if (lines === 0) throw new UserError(`${file}: no judgment lines (only comments or blank lines)`);
  return qrels;
}

/**
 * The documents of one query in trec_eval's order: score descending, ties broken by document id
 * descending (form_res_rels.c, comp_sim_docno). JS compares UTF-16 code units where C's strcmp
 * compares bytes; the two orders agree except between astral characters and U+E000–U+FFFF.
 */
export function rankDocs(docs: Map<string, number>): string[] {
  const ids = Array.from(docs.keys());
  const scores = new Float64Array(ids.length);
  for (let i = 0; i < ids.length; i++) {
    const v = docs.get(ids[i])!;
    if (!Number.isFinite(v)) throw new UserError(`score of document '${ids[i]}' is ${v}; scores must be finite numbers`);
    scores[i] = v;
  }
  const order = Array.from(ids.keys());
  order.sort((a, b) => {
    const d = scores[b] - scores[a];
    if (d !== 0) return d;
    const x = ids[a];
    const y = ids[b];
    return x < y ? 1 : x > y ? -1 : 0;
  });
  return order.map((i) => ids[i]);
}

export interface WriteRunOptions {
  /** The run tag written in the last column. Default 'colbert-zero'. */
  tag?: string;
  /** Keep only the first `depth` documents of each query. */
  depth?: number;
}

/** Writes a run in TREC format, ranks 1..n in trec_eval's order, atomically. */
export function writeTrecRun(file: string, run: Run, opts: WriteRunOptions = {}): void {
  const tag = opts.tag ?? 'colbert-zero';
  if (/\s/.test(tag) || tag.length === 0) throw new UserError(`run tag '${tag}' must be one word without spaces`);
  const parts: string[] = [];
  for (const [qid, docs] of run) {
    if (/\s/.test(qid)) throw new UserError(`query id '${qid}' contains whitespace and cannot be written as TREC`);
    const ranked = rankDocs(docs);
    const n = opts.depth === undefined ? ranked.length : Math.min(opts.depth, ranked.length);
    for (let r = 0; r < n; r++) {
      const d = ranked[r];
      if (/\s/.test(d)) throw new UserError(`document id '${d}' contains whitespace and cannot be written as TREC`);
      // String(score) is the shortest text that reads back to the same double.
      parts.push(`${qid} Q0 ${d} ${r + 1} ${String(docs.get(d))} ${tag}\n`);
    }
  }
  writeFileAtomic(file, parts.join(''));
}
