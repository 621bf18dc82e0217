/**
 * File-system failures in words: one line naming the path and what was expected there, instead of
 * Node's errno text ("EISDIR: illegal operation on a directory, read").
 */
import * as fs from 'node:fs';
import { UserError } from './errors';

/** The one-line message for failing to read `file`, which should have been `expected` (e.g. "a JSON file"). */
export function fsProblem(file: string, e: unknown, expected = 'a file'): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT': return `${file}: not found (expected ${expected})`;
    case 'EISDIR': return `${file}: is a folder (expected ${expected})`;
    case 'ENOTDIR': return `${file}: a part of this path is a file, not a folder (expected ${expected})`;
    case 'EACCES':
    case 'EPERM': return `${file}: permission denied (expected ${expected} we may read)`;
    default: return `${file}: cannot be read (expected ${expected}; ${code ?? (e as Error).message})`;
  }
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
