/**
 * The local data cache: one folder per manifest id under `CZ_DATA_DIR` (default
 * `$XDG_CACHE_HOME/colbert-zero` or `~/.cache/colbert-zero`), plus a lock file per id
 * (`locks/<id>.json`) recording where each file came from, its size and SHA-256. A size or checksum the
 * manifest does not know is recorded here on first fetch or import, and `verify` checks against it.
 *
 * A copy is used as data (listed as present by `data list`, found by `localBeirSets`, read by `data
 * convert`) only once it has been verified: the lock's `verified`. An import is verified before it
 * enters the cache (lib/data/import-data.ts); a fetch, once its files are all here.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeJsonAtomic } from '../util/atomic';
import { envValue } from '../util/env';
import { makeDirs } from '../util/fs-errors';
import { claimLock } from '../util/lock';
import { downloadFile, listHubFiles, resolveUrl, type HubOptions } from './hub';
import type { FileEntry, Manifest, Source } from './manifests/schema';

export function dataDir(): string {
  const env = envValue('CZ_DATA_DIR');
  if (env) return path.resolve(env);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'colbert-zero');
}

export interface LockFile {
  id: string;
  origin: 'hub' | 'import';
  /** For hub copies: each source's repository, requested revision and the commit the hub served. */
  sources?: Array<{ hub: string; revision: string; commit: string | null }>;
  /** For imports: the folder or file the copy was made from. */
  importedFrom?: string;
  /** Keyed by the path inside the copy. */
  files: Record<string, { bytes: number; sha256: string; checkedAgainst: 'manifest' | 'hub' | 'lock' | 'none' }>;
  /** The last verification passed (a copy is used only then); absent in locks of older versions: run `data verify`. */
  verified?: boolean;
  updated: string;
}

export function copyDir(id: string, root = dataDir()): string {
  return path.join(root, id);
}

export function lockPath(id: string, root = dataDir()): string {
  return path.join(root, 'locks', `${id}.json`);
}

export function readLock(id: string, root = dataDir()): LockFile | null {
  const file = lockPath(id, root);
  if (!fs.existsSync(file)) return null;
  let v: unknown;
  try {
    v = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: malformed lock file (${(e as Error).message.split('\n')[0]}); remove it and fetch or import again`);
  }
  const lock = v as LockFile;
  if (!lock || typeof lock !== 'object' || lock.id !== id || typeof lock.files !== 'object' || lock.files === null) {
    throw new UserError(`${file}: not a lock file for '${id}'; remove it and fetch or import again`);
  }
  return lock;
}

export function writeLock(lock: LockFile, root: string): void {
  lock.updated = new Date().toISOString();
  writeJsonAtomic(lockPath(lock.id, root), lock);
}

/** True when the lock says the copy passed its last verification (the only copies used as data). */
export function isVerified(lock: LockFile | null): boolean {
  return lock?.verified === true;
}

/**
 * One writer per copy: `locks/<id>.busy` is held while a fetch or import runs (lib/util/lock.ts: a second
 * one stops naming the first one's process; one left by a process that is gone is taken over).
 */
export function claimCopy(id: string, root = dataDir()): () => void {
  makeDirs(path.join(root, 'locks'), 'the data cache');
  return claimLock(path.join(root, 'locks', `${id}.busy`), `${id}: its copy in the cache`);
}

// ---------------------------------------------------------------------------------------------- globs

/** '*' matches within one path part, '**' any number of parts, '?' one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      re += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function matchesAny(p: string, globs: string[]): boolean {
  return globs.some((g) => globToRegExp(g).test(p));
}

// ---------------------------------------------------------------------------------------------- fetch

interface PlannedFile {
  source: Source;
  /** Path in the repository. */
  repoPath: string;
  /** Path inside the cache copy. */
  localPath: string;
  bytes: number | null;
  sha256: string | null;
  /** Where the expected checksum comes from. */
  checksumFrom: 'manifest' | 'hub' | 'none';
}

/** The files a fetch will get: the manifest's, plus those of the repository's listing its globs select. */
async function planFetch(m: Manifest, opts: HubOptions & { only?: string[] } = {}): Promise<PlannedFile[]> {
  const out: PlannedFile[] = [];
  for (const s of m.sources) {
    const listed = s.include.length ? await listHubFiles(s, opts) : [];
    const byPath = new Map(listed.map((e) => [e.path, e]));
    const local = (p: string) => (s.into ? `${s.into}/${p}` : p);
    for (const f of s.files) {
      if (s.include.length && !byPath.has(f.path)) {
        throw new UserError(`${m.id}: ${s.hub}@${s.revision} has no file '${f.path}' (the manifest lists it)`);
      }
      const e = byPath.get(f.path);
      out.push({
        source: s,
        repoPath: f.path,
        localPath: local(f.path),
        bytes: f.bytes ?? (e && e.size >= 0 ? e.size : null),
        sha256: f.sha256 ?? e?.sha256 ?? null,
        checksumFrom: f.sha256 ? 'manifest' : e?.sha256 ? 'hub' : 'none',
      });
    }
    const named = new Set(s.files.map((f) => f.path));
    const picked = listed.filter((e) => !named.has(e.path) && matchesAny(e.path, s.include) && !matchesAny(e.path, s.exclude));
    if (s.include.length && picked.length === 0 && s.files.length === 0) {
      throw new UserError(`${m.id}: no file of ${s.hub}@${s.revision} matches ${s.include.join(', ')}`);
    }
    for (const e of picked) {
      out.push({
        source: s,
        repoPath: e.path,
        localPath: local(e.path),
        bytes: e.size >= 0 ? e.size : null,
        sha256: e.sha256,
        checksumFrom: e.sha256 ? 'hub' : 'none',
      });
    }
  }
  const only = opts.only;
  if (only && only.length) {
    const chosen = out.filter((f) => matchesAny(f.localPath, only) || only.some((o) => f.localPath.includes(o)));
    if (chosen.length === 0) throw new UserError(`${m.id}: --only ${only.join(',')} selects none of its ${out.length} files`);
    return chosen;
  }
  return out;
}

export interface FetchReport {
  id: string;
  dir: string;
  downloaded: string[];
  alreadyHere: string[];
  bytes: number;
}

/** Downloads a manifest's files into the cache (resumable; files already there and locked are kept). */
export async function fetchData(
  m: Manifest,
  opts: HubOptions & { root?: string; only?: string[]; log?: (line: string) => void } = {},
): Promise<FetchReport> {
  const root = opts.root ?? dataDir();
  const hint = `for a copy you already have, run: colbert-zero data import ${m.id} PATH`;
  const hubOpts: HubOptions = { ...opts, offlineHint: opts.offlineHint ?? hint };
  const plan = await planFetch(m, hubOpts);
  const release = claimCopy(m.id, root);
  try {
    return await fetchPlanned(m, plan, root, opts, hubOpts);
  } finally {
    release();
  }
}

async function fetchPlanned(
  m: Manifest,
  plan: PlannedFile[],
  root: string,
  opts: HubOptions & { log?: (line: string) => void },
  hubOpts: HubOptions,
): Promise<FetchReport> {
  const existing = readLock(m.id, root);
  if (existing && existing.origin === 'import') {
    throw new UserError(`${m.id}: the cache holds an imported copy (${lockPath(m.id, root)}); remove ${copyDir(m.id, root)} and that lock to fetch from the hub`);
  }
  const lock: LockFile = existing ?? { id: m.id, origin: 'hub', sources: [], files: {}, updated: '' };
  lock.sources ??= [];
  lock.verified = false; // files are about to change: verified again once complete
  const dir = copyDir(m.id, root);
  const report: FetchReport = { id: m.id, dir, downloaded: [], alreadyHere: [], bytes: 0 };
  // A verified copy whose files are about to change is no longer verified (a new lock waits for its first file).
  if (existing?.verified && plan.some((f) => !lock.files[f.localPath])) writeLock(lock, root);
  for (const f of plan) {
    const dest = path.join(dir, ...f.localPath.split('/'));
    const locked = lock.files[f.localPath];
    if (locked && fs.existsSync(dest) && fs.statSync(dest).size === locked.bytes) {
      report.alreadyHere.push(f.localPath);
      continue;
    }
    const r = await downloadFile(
      { url: resolveUrl(f.source, f.repoPath, opts), dest, sha256: f.sha256 ?? locked?.sha256 ?? null, bytes: f.bytes, name: `${m.id}: ${f.localPath}` },
      { ...hubOpts, label: `${m.id} ${f.localPath}` },
    );
    const checkedAgainst = f.sha256 ? f.checksumFrom : locked?.sha256 ? 'lock' : r.checked ? 'hub' : 'none';
    lock.files[f.localPath] = { bytes: r.bytes, sha256: r.sha256, checkedAgainst };
    let src = lock.sources.find((s) => s.hub === f.source.hub && s.revision === f.source.revision);
    if (!src) lock.sources.push((src = { hub: f.source.hub, revision: f.source.revision, commit: null }));
    if (r.commit) src.commit = r.commit;
    writeLock(lock, root); // after every file: a crash keeps what is done
    report.downloaded.push(f.localPath);
    report.bytes += r.bytes;
    opts.log?.(`${f.localPath}  ${r.bytes} bytes  sha256 ${r.sha256}${r.resumedFrom ? `  (resumed from ${r.resumedFrom})` : ''}`);
  }
  return report;
}

/** The manifest's file entries by their path inside the copy. */
export function manifestFiles(m: Manifest): Map<string, FileEntry> {
  const out = new Map<string, FileEntry>();
  for (const s of m.sources) for (const f of s.files) out.set(s.into ? `${s.into}/${f.path}` : f.path, f);
  return out;
}
