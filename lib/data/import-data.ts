/**
 * `data import`: a folder (or file) the user already has becomes the cached copy of a manifest. The
 * files are copied (copy-on-write where the file system allows) into a temporary folder of the cache and
 * verified there; only a copy that verifies replaces the cached one, so a wrong folder (NFCorpus imported
 * as SciFact, a lone corpus.jsonl, a file that is not parquet) is never listed or used as data. The
 * user's files are only read: never moved, changed or deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { tempName, removeStaleTemporaries } from '../util/atomic';
import { fsProblem, makeDirs } from '../util/fs-errors';
import { sha256File } from './hub';
import type { Manifest } from './manifests/schema';
import { claimCopy, copyDir, dataDir, readLock, writeLock, type LockFile } from './store';
import { verifyCopy, type VerifyReport } from './verify';

const SKIP_DIRS = new Set(['.git', '.cache', '.huggingface', '__pycache__']);

function listFiles(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const ent of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const rel = prefix ? `${prefix}/${ent.name}` : ent.name;
    const full = path.join(dir, ent.name);
    const st = fs.statSync(full); // follows links: a linked file is copied as a file
    if (st.isDirectory()) {
      if (!SKIP_DIRS.has(ent.name)) out.push(...listFiles(full, rel));
    } else if (st.isFile() && !ent.name.endsWith('.part')) out.push(rel);
  }
  return out;
}

export interface ImportReport {
  id: string;
  /** The cached copy (when imported) or the folder imported from (when it did not verify). */
  dir: string;
  files: number;
  bytes: number;
  /** The checks of the copy, made before it entered the cache. */
  verify: VerifyReport;
  /** False when the copy did not verify: the cache is as it was. */
  imported: boolean;
}

/**
 * Copies `from` as the copy of `m`, verifies it, and only then makes it the cached copy (replacing an
 * earlier one) with a lock of each file's size and SHA-256. See the module comment.
 */
export async function importData(m: Manifest, from: string, opts: { root?: string } = {}): Promise<ImportReport> {
  const root = opts.root ?? dataDir();
  const src = path.resolve(from);
  let st: fs.Stats;
  try {
    st = fs.statSync(src);
  } catch (e) {
    throw new UserError(fsProblem(from, e, 'a folder or file to import'));
  }
  const dir = copyDir(m.id, root);
  const rel = path.relative(src, dir);
  if (st.isDirectory() && (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel)))) {
    throw new UserError(`${from}: is the cache copy of '${m.id}' (or holds it); import from another folder`);
  }
  const files = st.isDirectory() ? listFiles(src) : [path.basename(src)];
  if (files.length === 0) throw new UserError(`${from}: no files to import`);
  const base = st.isDirectory() ? src : path.dirname(src);
  const lock: LockFile = { id: m.id, origin: 'import', importedFrom: src, files: {}, updated: '' };
  const release = claimCopy(m.id, root);
  makeDirs(root, 'the data cache');
  removeStaleTemporaries(dir);
  const tmp = tempName(dir);
  let bytes = 0;
  try {
    fs.mkdirSync(tmp);
    for (const f of files) {
      const out = path.join(tmp, ...f.split('/'));
      makeDirs(path.dirname(out), 'the data cache');
      fs.copyFileSync(path.join(base, ...f.split('/')), out, fs.constants.COPYFILE_FICLONE);
      const size = fs.statSync(out).size;
      lock.files[f] = { bytes: size, sha256: await sha256File(out), checkedAgainst: 'none' };
      bytes += size;
    }
    let verify: VerifyReport;
    try {
      verify = await verifyCopy(m, tmp, lock, { checksums: false }); // just hashed above
    } catch (e) {
      // An unreadable file is the user's: name it, not its temporary copy.
      if (e instanceof UserError) throw new UserError(e.message.split(tmp).join(base));
      throw e;
    }
    if (!verify.ok) return { id: m.id, dir: src, files: files.length, bytes, verify: { ...verify, dir: src }, imported: false };
    const earlier = readLock(m.id, root);
    if (earlier) writeLock({ ...earlier, verified: false }, root); // a crash from here on leaves no copy marked verified
    if (fs.existsSync(dir)) fs.renameSync(dir, `${tmp}-old`);
    fs.renameSync(tmp, dir);
    writeLock({ ...lock, verified: true }, root);
    return { id: m.id, dir, files: files.length, bytes, verify: { ...verify, dir }, imported: true };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(`${tmp}-old`, { recursive: true, force: true });
    release();
  }
}
