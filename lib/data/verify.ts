/**
 * Checks a cached copy against its lock file and its manifest: every locked file present with its size
 * and SHA-256 (and the manifest's checksum where it gives one), the files the manifest requires, and the
 * format's own facts — a BEIR set's documents, judged queries and relevant judgments; parquet files
 * readable with the expected columns; a checkpoint's config and safetensors headers.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import * as zlib from 'node:zlib';
import { UserError } from '../util/errors';
import { readJsonFile } from '../util/json';
import { progressBar } from '../util/progress';
import { sha256File } from './hub';
import type { Manifest } from './manifests/schema';
import { parquetInfo, readParquetRows } from './parquet';
import { copyDir, dataDir, lockPath, manifestFiles, readLock, writeLock, type LockFile } from './store';

export interface Check {
  ok: boolean;
  what: string;
}

export interface VerifyReport {
  id: string;
  dir: string;
  origin: 'hub' | 'import';
  checks: Check[];
  ok: boolean;
}

async function forEachTextLine(file: string, onLine: (line: string) => void): Promise<void> {
  const raw = fs.createReadStream(file);
  const input = file.endsWith('.gz') ? raw.pipe(zlib.createGunzip()) : raw;
  const rl = readline.createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const line of rl) onLine(line);
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as Error).message.split('\n')[0]})`);
  }
}

// ----------------------------------------------------------------------------------------------- BEIR

interface BeirParts {
  corpus: string[];
  queries: string[];
  qrels: string[];
}

const PARTS = ['corpus', 'queries', 'qrels'] as const;

/** Finds a BEIR set's files in a copy: JSONL + TSV (BEIR's zip layout) or parquet per part. */
function findBeirParts(files: string[], split: string): BeirParts {
  const parts: BeirParts = { corpus: [], queries: [], qrels: [] };
  for (const f of files) {
    const parts0 = f.split('/');
    const base = parts0[parts0.length - 1];
    if (/^corpus\.jsonl(\.gz)?$/.test(base)) parts.corpus.push(f);
    else if (/^queries\.jsonl(\.gz)?$/.test(base)) parts.queries.push(f);
    else if (base.endsWith('.tsv') && parts0.includes('qrels')) {
      if (base === `${split}.tsv`) parts.qrels.push(f);
    } else if (base.endsWith('.parquet')) {
      // the part is a folder name (corpus/, queries/, qrels/ or MTEB's default/ for qrels) or a name prefix
      const tag = parts0.find((p) => /^(corpus|queries|qrels|default)$/.test(p)) ?? PARTS.find((p) => base.startsWith(p));
      const part = tag === 'default' ? 'qrels' : (tag as (typeof PARTS)[number] | undefined);
      if (!part) continue;
      if (part === 'qrels') {
        // a qrels file named after a split (test-00000-of-00001.parquet) belongs to that split only
        const m = /^(train|dev|test|validation)[-_.]/.exec(base);
        if (m && m[1] !== split) continue;
      }
      parts[part].push(f);
    }
  }
  return parts;
}

async function countRows(dir: string, files: string[], idKey: string | null): Promise<{ rows: number; ids: Set<string> | null }> {
  let rows = 0;
  const ids = idKey ? new Set<string>() : null;
  for (const f of files) {
    const full = path.join(dir, f);
    if (f.endsWith('.parquet')) {
      const info = await parquetInfo(full);
      if (ids) {
        // BEIR's '_id'; some parquet exports name it 'id'
        const key = [idKey!, 'id'].find((k) => info.columns.includes(k));
        if (!key) throw new UserError(`${full}: no "${idKey}" column (has ${info.columns.join(', ')})`);
        for (const r of await readParquetRows(full, { columns: [key] })) ids.add(String(r[key]));
      }
      rows += info.rows;
    } else {
      await forEachTextLine(full, (line) => {
        if (line.trim() === '') return;
        rows++;
        if (ids) {
          try {
            ids.add(String((JSON.parse(line) as Record<string, unknown>)[idKey!]));
          } catch {
            throw new UserError(`${full}: line ${rows}: malformed JSON`);
          }
        }
      });
    }
  }
  return { rows, ids };
}

async function readJudgments(dir: string, files: string[]): Promise<Array<{ q: string; d: string; rel: number }>> {
  const out: Array<{ q: string; d: string; rel: number }> = [];
  for (const f of files) {
    const full = path.join(dir, f);
    if (f.endsWith('.parquet')) {
      const info = await parquetInfo(full);
      const q = info.columns.find((c) => c === 'query-id' || c === 'query_id');
      const d = info.columns.find((c) => c === 'corpus-id' || c === 'corpus_id' || c === 'doc-id');
      const s = info.columns.find((c) => c === 'score' || c === 'relevance');
      if (!q || !d) throw new UserError(`${full}: qrels need query-id and corpus-id columns (has ${info.columns.join(', ')})`);
      for (const r of await readParquetRows(full, { columns: s ? [q, d, s] : [q, d] })) {
        out.push({ q: String(r[q]), d: String(r[d]), rel: s ? Number(r[s]) : 1 });
      }
    } else {
      let lineNo = 0;
      await forEachTextLine(full, (line) => {
        lineNo++;
        if (line.trim() === '') return;
        const cols = line.split('\t');
        if (lineNo === 1 && (cols.length < 3 || !/^-?\d+$/.test(cols[cols.length - 1].trim()))) return; // header
        if (cols.length < 3) throw new UserError(`${full}:${lineNo}: expected query-id, corpus-id, score`);
        out.push({ q: cols[0], d: cols[1], rel: Number(cols[cols.length - 1]) });
      });
    }
  }
  return out;
}

async function checkBeir(m: Manifest, dir: string, files: string[], checks: Check[]): Promise<void> {
  const split = m.counts?.split ?? (m.format === 'nanobeir' ? 'train' : 'test');
  // one group per source folder (CQADupStack: one per forum, each with its own ids), else the whole copy
  const groups = [...new Set(m.sources.map((s) => s.into))];
  let docs = 0;
  let judgedQueries = 0;
  let relevant = 0;
  let missing = 0;
  for (const g of groups) {
    const mine = g ? files.filter((f) => f.startsWith(`${g}/`)) : files;
    const parts = findBeirParts(mine, split);
    for (const p of PARTS) {
      if (parts[p].length === 0) {
        const expect = p === 'qrels' ? `qrels/${split}.tsv or qrels parquet` : `${p}.jsonl or ${p} parquet`;
        checks.push({ ok: false, what: `${g ? `${g}/` : ''}${p}: no file found (expected ${expect})` });
        return;
      }
    }
    docs += (await countRows(dir, parts.corpus, null)).rows;
    const queries = await countRows(dir, parts.queries, '_id');
    const judgments = await readJudgments(dir, parts.qrels);
    const judged = new Set(judgments.map((j) => j.q));
    judgedQueries += judged.size;
    relevant += judgments.filter((j) => j.rel > 0).length;
    missing += [...judged].filter((q) => !queries.ids!.has(q)).length;
  }
  const c = m.counts;
  const cmp = (what: string, got: number, want: number | undefined) =>
    checks.push({ ok: want === undefined || got === want, what: `${what}: ${got}${want === undefined ? '' : got === want ? ' (as expected)' : `, expected ${want}`}` });
  cmp('documents', docs, c?.documents);
  cmp(`queries judged in ${split}`, judgedQueries, c?.queries);
  cmp(`relevant judgments in ${split}`, relevant, c?.relevant);
  checks.push({ ok: missing === 0, what: `judged queries missing from the queries file: ${missing}` });
}

// -------------------------------------------------------------------------------------------- parquet

/** Which config a parquet file belongs to: a folder named after it, else a file name starting with it. */
function configOf(file: string, keys: string[]): string | undefined {
  const parts = file.split('/');
  const base = parts.pop()!;
  return keys.find((k) => parts.includes(k)) ?? (parts.length === 0 || !parts.some((p) => keys.includes(p)) ? keys.find((k) => base.startsWith(`${k}-`) || base.startsWith(`${k}.`)) : undefined);
}

/**
 * The config a file's columns say it belongs to, when its path does not: the one whose expected columns it
 * holds, the most specific first (a repository may name its files otherwise than its dataset card).
 */
function configByColumns(columns: string[], want: Record<string, string[]>): string | undefined {
  const fits = Object.entries(want)
    .filter(([k, need]) => k !== '*' && need.length > 0 && need.every((c) => columns.includes(c)))
    .sort(([, a], [, b]) => b.length - a.length);
  return fits[0]?.[0];
}

async function checkParquet(m: Manifest, dir: string, files: string[], checks: Check[]): Promise<void> {
  const pq = files.filter((f) => f.endsWith('.parquet'));
  if (pq.length === 0) {
    checks.push({ ok: false, what: 'no parquet files in the copy' });
    return;
  }
  const want = m.columns ?? {};
  const rowsBy = new Map<string, number>();
  const filesBy = new Map<string, number>();
  const configs = new Map<string, string>();
  for (const f of pq) {
    const info = await parquetInfo(path.join(dir, f));
    const key = configOf(f, Object.keys(want).filter((k) => k !== '*')) ?? configByColumns(info.columns, want) ?? '*';
    configs.set(f, key);
    const need = want[key] ?? [];
    const lack = need.filter((c) => !info.columns.includes(c));
    if (lack.length) checks.push({ ok: false, what: `${f}: missing column${lack.length > 1 ? 's' : ''} ${lack.join(', ')} (has ${info.columns.join(', ')})` });
    rowsBy.set(key, (rowsBy.get(key) ?? 0) + info.rows);
    filesBy.set(key, (filesBy.get(key) ?? 0) + 1);
  }
  if (m.format === 'kd-parquet') {
    // how many candidates (and teacher scores) the first rows of the train config carry
    const train = pq.find((f) => configs.get(f) === 'train');
    if (train) {
      const rows = await readParquetRows(path.join(dir, train), { columns: ['document_ids', 'scores'], rowEnd: 100 });
      const n = rows.map((r) => (Array.isArray(r.document_ids) ? r.document_ids.length : -1));
      const same = rows.every((r) => Array.isArray(r.scores) && Array.isArray(r.document_ids) && r.scores.length === r.document_ids.length);
      checks.push({ ok: same && n.every((x) => x > 0), what: `${train}: first ${rows.length} rows carry ${Math.min(...n)}-${Math.max(...n)} candidates${same ? ', one score each' : ', scores and candidates differ in length'}` });
    }
  }
  for (const [k, n] of rowsBy) {
    const files = filesBy.get(k)!;
    checks.push({ ok: n > 0, what: `${k === '*' ? 'rows' : `${k} rows`}: ${n} in ${files} parquet file${files > 1 ? 's' : ''}` });
  }
  for (const k of Object.keys(want)) if (k !== '*' && !rowsBy.has(k)) checks.push({ ok: false, what: `${k}: no parquet file of this config` });
}

// -------------------------------------------------------------------------------------------- models

function checkSafetensors(file: string): string | null {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) return 'shorter than a safetensors header';
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    const n = Number(head.readBigUInt64LE(0));
    if (n <= 0 || 8 + n > size) return `header length ${n} does not fit in ${size} bytes`;
    const json = Buffer.alloc(n);
    fs.readSync(fd, json, 0, n, 8);
    let header: Record<string, { data_offsets?: [number, number] }>;
    try {
      header = JSON.parse(json.toString('utf8'));
    } catch {
      return 'header is not JSON';
    }
    let end = 0;
    for (const [k, v] of Object.entries(header)) if (k !== '__metadata__' && v.data_offsets) end = Math.max(end, v.data_offsets[1]);
    if (8 + n + end !== size) return `tensors end at byte ${8 + n + end} but the file has ${size} (truncated?)`;
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

/** Elements of the backbone's tensors (embeddings, layers, final norm; a leading `model.` as in ModernBertForMaskedLM) in a safetensors header. */
function backboneParameters(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    const json = Buffer.alloc(Number(head.readBigUInt64LE(0)));
    fs.readSync(fd, json, 0, json.length, 8);
    let n = 0;
    for (const [k, v] of Object.entries(JSON.parse(json.toString('utf8')) as Record<string, { shape?: number[] }>)) {
      if (/^(model\.)?(embeddings|layers|final_norm)\./.test(k) && Array.isArray(v.shape)) n += v.shape.reduce((a, b) => a * b, 1);
    }
    return n;
  } finally {
    fs.closeSync(fd);
  }
}

/** The checkpoint's shape against the manifest's: layers and hidden size (config.json), backbone parameters (within 1 %). */
function checkArchitecture(m: Manifest, config: Record<string, unknown>, dir: string, weights: string[], checks: Check[]): void {
  const a = m.architecture;
  if (!a) return;
  const same = (what: string, got: unknown, want: number) => checks.push({ ok: got === want, what: `config.json: ${what} ${got ?? '(none)'}${got === want ? ' (as expected)' : `, expected ${want}`}` });
  same('num_hidden_layers', config.num_hidden_layers, a.layers);
  same('hidden_size', config.hidden_size, a.hidden);
  const n = weights.reduce((s, f) => s + backboneParameters(path.join(dir, f)), 0);
  const ok = Math.abs(n - a.parameters) <= 0.01 * a.parameters;
  checks.push({ ok, what: `backbone parameters: ${n.toLocaleString('en-US')}${ok ? ' (as expected)' : `, expected about ${a.parameters.toLocaleString('en-US')}`}` });
}

function checkCheckpoint(m: Manifest, dir: string, files: string[], checks: Check[]): void {
  const config = path.join(dir, 'config.json');
  let parsed: Record<string, unknown> | null = null;
  if (!fs.existsSync(config)) checks.push({ ok: false, what: 'config.json: missing' });
  else {
    try {
      const json = readJsonFile(config);
      parsed = json;
      checks.push({ ok: true, what: `config.json: model_type ${json.model_type ?? '(none)'}` });
    } catch {
      checks.push({ ok: false, what: 'config.json: not JSON' });
    }
  }
  const st = files.filter((f) => f.endsWith('.safetensors'));
  if (st.length === 0) checks.push({ ok: false, what: 'no .safetensors weights' });
  let readable = true;
  for (const f of st) {
    const bad = checkSafetensors(path.join(dir, f));
    readable &&= bad === null;
    checks.push({ ok: bad === null, what: `${f}: ${bad ?? 'safetensors header and size consistent'}` });
  }
  if (parsed && readable && st.length) checkArchitecture(m, parsed, dir, st, checks);
  const need = m.format === 'pylate' ? ['modules.json'] : m.format === 'sentence-transformers' ? ['modules.json'] : [];
  for (const n of need) if (!files.includes(n)) checks.push({ ok: false, what: `${n}: missing (a ${m.format} model has one)` });
}

// --------------------------------------------------------------------------------------------- verify

/**
 * Checks the cached copy of `m` and records the verdict in its lock (`verified`): only a verified copy is
 * listed as present or used as data. Throws when there is no copy; otherwise reports each check.
 */
export async function verifyData(m: Manifest, opts: { root?: string; checksums?: boolean; justHashed?: boolean } = {}): Promise<VerifyReport> {
  const root = opts.root ?? dataDir();
  const lock = readLock(m.id, root);
  if (!lock) {
    throw new UserError(`'${m.id}' is not in the cache (${lockPath(m.id, root)} is missing): run colbert-zero data fetch ${m.id}, or data import ${m.id} PATH`);
  }
  const report = await verifyCopy(m, copyDir(m.id, root), lock, opts);
  // Without checksums a pass proves less: it keeps an earlier verdict but makes a copy verified only when
  // its files were hashed just now (`justHashed`: a fetch that has checked every download).
  const verdict = report.ok ? opts.checksums !== false || opts.justHashed === true || lock.verified === true : false;
  if (lock.verified !== verdict) writeLock({ ...lock, verified: verdict }, root);
  return report;
}

/** Checks the copy of `m` in `dir` against `lock` (a cached copy, or an import not yet in the cache). */
export async function verifyCopy(m: Manifest, dir: string, lock: LockFile, opts: { checksums?: boolean } = {}): Promise<VerifyReport> {
  const checks: Check[] = [];
  const expected = manifestFiles(m);
  const locked = Object.entries(lock.files).sort(([a], [b]) => a.localeCompare(b));
  const total = locked.reduce((s, [, f]) => s + f.bytes, 0);
  const bar = opts.checksums === false ? null : progressBar(`verify ${m.id}`, Math.max(1, Math.ceil(total / 1e6)), 'MB');
  let hashed = 0;
  for (const [rel, f] of locked) {
    const full = path.join(dir, ...rel.split('/'));
    if (!fs.existsSync(full)) {
      checks.push({ ok: false, what: `${rel}: missing` });
      continue;
    }
    const size = fs.statSync(full).size;
    if (size !== f.bytes) {
      checks.push({ ok: false, what: `${rel}: ${size} bytes, the lock says ${f.bytes}` });
      continue;
    }
    const want = expected.get(rel);
    if (want?.bytes != null && want.bytes !== size) checks.push({ ok: false, what: `${rel}: ${size} bytes, the manifest says ${want.bytes}` });
    if (opts.checksums === false) continue;
    const sha = await sha256File(full, (n) => {
      hashed += n;
      bar?.update(Math.floor(hashed / 1e6));
    });
    if (sha !== f.sha256) checks.push({ ok: false, what: `${rel}: sha256 ${sha}, the lock says ${f.sha256}` });
    else if (want?.sha256 && want.sha256 !== sha) checks.push({ ok: false, what: `${rel}: sha256 ${sha}, the manifest says ${want.sha256}` });
  }
  bar?.stop();
  if (!checks.some((c) => !c.ok)) {
    checks.push({ ok: true, what: `${locked.length} files${opts.checksums === false ? ' present with their locked sizes' : ' match their locked sizes and sha256'}` });
  }
  if (lock.origin === 'hub') {
    for (const p of expected.keys()) if (!lock.files[p]) checks.push({ ok: false, what: `${p}: listed in the manifest, not fetched` });
  }
  const files = locked.map(([rel]) => rel).filter((rel) => fs.existsSync(path.join(dir, ...rel.split('/'))));
  if (m.format === 'beir' || m.format === 'nanobeir') await checkBeir(m, dir, files, checks);
  else if (m.format.endsWith('-parquet')) await checkParquet(m, dir, files, checks);
  else checkCheckpoint(m, dir, files, checks);
  return { id: m.id, dir, origin: lock.origin, checks, ok: checks.every((c) => c.ok) };
}
