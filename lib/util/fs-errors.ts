/**
 * File-system failures in words: one line naming the path and what was expected there, instead of
 * Node's errno text ("EISDIR: illegal operation on a directory, read", "ENOENT: ... mkdir"). Every
 * command reads and writes through these, so a bad path reads the same everywhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';

/** Why a write failed, by errno; ENOENT when the parent exists means the file system takes no new entries there (/proc). */
const WRITE_WHY: Record<string, string> = {
  ENOENT: 'cannot be created (its folder is missing or takes no new entries)',
  ENOTDIR: 'a part of this path is a file, not a folder',
  EISDIR: 'is a folder, not a file',
  EEXIST: 'already exists',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'is on a read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'over the disk quota',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links in the path',
};

/**
 * The one-line message for failing to read (or, with `mode` 'write', to write) `file`, which should have
 * been `expected` (e.g. "a JSON file").
 */
export function fsProblem(file: string, e: unknown, expected = 'a file', mode: 'read' | 'write' = 'read'): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (mode === 'write') return `${file}: ${(code && WRITE_WHY[code]) ?? `cannot be written (${code ?? (e as Error).message})`}`;
  switch (code) {
    case 'ENOENT': return `${file}: not found (expected ${expected})`;
    case 'EISDIR': return `${file}: is a folder (expected ${expected})`;
    case 'ENOTDIR': return `${file}: a part of this path is a file, not a folder (expected ${expected})`;
    case 'EACCES':
    case 'EPERM': return `${file}: permission denied (expected ${expected} we may read)`;
    default: return `${file}: cannot be read (expected ${expected}; ${code ?? (e as Error).message})`;
  }
}

/** True for Node's file-system errors (they carry an errno code and usually the path). */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && /^E[A-Z]+$/.test((e as NodeJS.ErrnoException).code!);
}

/** Reads a whole text file; any failure is a UserError naming the file and what was expected. */
export function readTextFile(file: string, expected = 'a file'): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(fsProblem(file, e, expected));
  }
}

/** Opens a file for reading, with the same one-line errors (a folder is refused before opening). */
export function openForReading(file: string, expected = 'a file'): number {
  try {
    if (fs.statSync(file).isDirectory()) throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new UserError(fsProblem(file, e, expected));
  }
}

/** The path's stat, or null when nothing is there (or a part of the path is a file: ENOTDIR). */
export function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p);
  } catch {
    return null;
  }
}

/**
 * Makes the folder `dir` and its missing parents one level at a time, then checks that it takes new
 * entries (a probe folder made and removed: permission bits say nothing for root or read-only mounts).
 * Node's recursive mkdirSync spins forever under /proc; this loop is bounded by the path's depth. Every
 * output folder of every command is made here; a failure is one line naming `what` and the path
 * (`named`: the output the folder is made for, when that is not the folder itself).
 */
export function makeDirs(dir: string, what = 'output', named = dir): void {
  const abs = path.resolve(dir);
  const fail = (p: string, e: unknown): never => {
    throw new UserError(`cannot write ${what} ${named}: ${fsProblem(p, e, 'a folder', 'write')}`);
  };
  const missing: string[] = [];
  let p = abs;
  let st = statOrNull(p);
  while (!st) {
    missing.unshift(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
    st = statOrNull(p);
  }
  if (st && !st.isDirectory()) fail(p, { code: 'ENOTDIR' });
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') fail(d, e); // EEXIST: made meanwhile by another process
    }
  }
  const probe = path.join(abs, `.colbert-zero-probe-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
  try {
    fs.mkdirSync(probe);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code !== 'EEXIST') throw new UserError(`cannot write ${what} ${named}: ${abs} takes no new files (${code === 'ENOENT' ? 'the file system refuses them' : (WRITE_WHY[code] ?? code)})`);
  }
  fs.rmSync(probe, { recursive: true, force: true });
}
