/**
 * BEIR's dataset layout (what beir.datasets.data_loader.GenericDataLoader reads):
 *   corpus.jsonl        {"_id", "title"?, "text", "metadata"?}   one JSON object per line
 *   queries.jsonl       {"_id", "text"}
 *   qrels/<split>.tsv   header line, then `query-id<TAB>corpus-id<TAB>score` (integer score)
 * Like BEIR, `loadBeir` keeps only the queries judged in the split, in the qrels' order, and a
 * judgment naming an unknown query or document is not fatal: it is counted and reported.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { forEachLine, isBlank, where } from './lines';
import type { Doc, Qrels, Query } from './types';

function parseObject(text: string, file: string, lineNo: number): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${where(file, lineNo)}: malformed JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new UserError(`${where(file, lineNo)}: expected a JSON object per line`);
  }
  return v as Record<string, unknown>;
}

/** `_id` may be a string or an integer in the wild; ids are strings from here on. */
function idOf(o: Record<string, unknown>, file: string, lineNo: number): string {
  const id = o._id;
  if (typeof id === 'string' && id.length > 0) return id;
  if (typeof id === 'number' && Number.isInteger(id)) return String(id);
  throw new UserError(`${where(file, lineNo)}: missing or empty "_id"`);
}

function stringField(o: Record<string, unknown>, key: string, file: string, lineNo: number, required: boolean): string {
  const v = o[key];
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) {
    if (!required) return '';
    throw new UserError(`${where(file, lineNo)}: missing "${key}"`);
  }
  throw new UserError(`${where(file, lineNo)}: "${key}" must be a string`);
}

function readJsonl<T extends { id: string }>(
  file: string,
  make: (o: Record<string, unknown>, id: string, lineNo: number) => T,
  what: string,
): T[] {
  const out: T[] = [];
  const seen = new Map<string, number>();
  forEachLine(file, (text, lineNo) => {
    if (isBlank(text)) return;
    const o = parseObject(text, file, lineNo);
    const id = idOf(o, file, lineNo);
    const before = seen.get(id);
    if (before !== undefined) {
      throw new UserError(`${where(file, lineNo)}: duplicate ${what} id '${id}' (first on line ${before})`);
    }
    seen.set(id, lineNo);
    out.push(make(o, id, lineNo));
  });
  if (out.length === 0) throw new UserError(`${file}: no ${what}s (only blank lines)`);
  return out;
}

/** Reads a BEIR corpus.jsonl. */
/**
 * A document's text as every encoder here sees it: title and text joined by a space, trimmed (as PyLate's
 * BEIR evaluation). The one spelling of "title + text" (index, search, evaluation, pipelines).
 */
export function documentText(d: Doc): string {
  return `${d.title} ${d.text}`.trim();
}

export function readCorpus(file: string): Doc[] {
  return readJsonl(
    file,
    (o, id, lineNo) => ({
      id,
      title: stringField(o, 'title', file, lineNo, false),
      text: stringField(o, 'text', file, lineNo, true),
    }),
    'document',
  );
}

/** Reads a BEIR queries.jsonl. */
export function readQueries(file: string): Query[] {
  return readJsonl(file, (o, id, lineNo) => ({ id, text: stringField(o, 'text', file, lineNo, true) }), 'query');
}

const INTEGER = /^[+-]?\d+$/;

/**
 * Reads a BEIR qrels TSV. The first line is the header (`query-id corpus-id score`) when its score
 * column is not a number — BEIR skips line 1 unconditionally, which silently loses a judgment when
 * a file has no header. A repeated (query, document) pair keeps the last score, as BEIR's dict does;
 * the count of such repeats is returned.
 */
export function readBeirQrels(file: string): { qrels: Qrels; repeated: number } {
  const qrels: Qrels = new Map();
  let repeated = 0;
  let judgments = 0;
  forEachLine(file, (text, lineNo) => {
    if (isBlank(text)) return;
    const f = text.split('\t');
    if (f.length !== 3) {
      throw new UserError(`${where(file, lineNo)}: expected 3 tab-separated columns 'query-id corpus-id score', found ${f.length}`);
    }
    const score = f[2].trim();
    if (!INTEGER.test(score)) {
      if (lineNo === 1) return; // the header
      throw new UserError(`${where(file, lineNo)}: score '${f[2]}' is not an integer`);
    }
    const qid = f[0].trim();
    const did = f[1].trim();
    if (!qid || !did) throw new UserError(`${where(file, lineNo)}: empty query or document id`);
    let docs = qrels.get(qid);
    if (docs === undefined) qrels.set(qid, (docs = new Map()));
    if (docs.has(did)) repeated++;
    docs.set(did, Number(score));
    judgments++;
  });
  if (judgments === 0) throw new UserError(`${file}: no judgments (header only)`);
  return { qrels, repeated };
}

export interface BeirWarnings {
  /** Judgments whose query is not in queries.jsonl (dropped: there is no text to search with). */
  unknownQueries: number;
  /** Judgments whose document is not in corpus.jsonl (kept: they still count as relevant). */
  unknownDocs: number;
  /** Repeated (query, document) lines in the qrels; the last score wins. */
  repeatedJudgments: number;
  /** One line per kind of problem, with an example, for printing. */
  messages: string[];
}

export interface BeirDataset {
  corpus: Doc[];
  /** Only the queries judged in the split, in the order the qrels first name them. */
  queries: Query[];
  qrels: Qrels;
  warnings: BeirWarnings;
}

function requireFile(p: string, what: string): string {
  if (!fs.existsSync(p)) throw new UserError(`${p}: ${what} not found`);
  return p;
}

/** Loads a BEIR dataset folder for one split ('test', 'dev', 'train'). */
export function loadBeir(dir: string, split = 'test'): BeirDataset {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a dataset folder`);
  const corpus = readCorpus(requireFile(path.join(dir, 'corpus.jsonl'), 'corpus'));
  const allQueries = readQueries(requireFile(path.join(dir, 'queries.jsonl'), 'queries'));
  const qrelsFile = requireFile(path.join(dir, 'qrels', `${split}.tsv`), `qrels for split '${split}'`);
  const { qrels: raw, repeated } = readBeirQrels(qrelsFile);

  const docIds = new Set(corpus.map((d) => d.id));
  const byId = new Map(allQueries.map((q) => [q.id, q]));
  const qrels: Qrels = new Map();
  const queries: Query[] = [];
  let unknownQueries = 0;
  let unknownDocs = 0;
  let exampleQuery = '';
  let exampleDoc = '';
  for (const [qid, docs] of raw) {
    const q = byId.get(qid);
    if (q === undefined) {
      unknownQueries += docs.size;
      exampleQuery ||= qid;
      continue;
    }
    for (const did of docs.keys()) {
      if (!docIds.has(did)) {
        unknownDocs++;
        exampleDoc ||= `${qid}/${did}`;
      }
    }
    qrels.set(qid, docs);
    queries.push(q);
  }
  const messages: string[] = [];
  if (unknownQueries) messages.push(`${qrelsFile}: ${unknownQueries} judgment(s) name queries missing from queries.jsonl (e.g. '${exampleQuery}'); dropped`);
  if (unknownDocs) messages.push(`${qrelsFile}: ${unknownDocs} judgment(s) name documents missing from corpus.jsonl (e.g. '${exampleDoc}'); kept`);
  if (repeated) messages.push(`${qrelsFile}: ${repeated} repeated (query, document) line(s); the last score was kept`);
  if (qrels.size === 0) throw new UserError(`${qrelsFile}: none of the judged queries is in queries.jsonl`);
  return { corpus, queries, qrels, warnings: { unknownQueries, unknownDocs, repeatedJudgments: repeated, messages } };
}
