/**
 * Reads a text file line by line without holding it whole: runs can have millions of lines.
 * Bytes must be UTF-8 (checked chunk by chunk with a fatal decoder; a bad byte is reported with its
 * line number). A leading byte-order mark and a trailing '\r' on each line are dropped.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors';

const CHUNK = 1 << 22; // 4 MiB per read; decoded only up to the last newline of each chunk
const NEWLINE = 0x0a;

/** `file:line` the way every reader names a place in a file. */
export function where(file: string, line: number): string {
  return `${file}:${line}`;
}

function openForReading(file: string): number {
  try {
    const st = fs.statSync(file);
    if (st.isDirectory()) throw new UserError(`${file}: is a directory, expected a file`);
    return fs.openSync(file, 'r');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot open (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
}

/** Finds which line of `bytes` (whose first line is number `firstLine`) holds invalid UTF-8. */
function badUtf8Line(bytes: Uint8Array, firstLine: number): number {
  const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  let start = 0;
  let line = firstLine;
  while (start <= bytes.length) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    try {
      strict.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
    line++;
  }
  return firstLine;
}

/**
 * Calls `onLine(text, lineNumber)` for every line (1-based numbers; the text has no '\n' or '\r').
 * Empty lines are passed too; callers decide whether they matter. Throws a UserError for an empty
 * file or bytes that are not UTF-8.
 */
export function forEachLine(file: string, onLine: (text: string, lineNo: number) => void): number {
  return forEachLineSpan(file, (chunk, start, end, lineNo) => onLine(chunk.slice(start, end), lineNo));
}

/**
 * The same walk without cutting lines out: `onLine(chunk, start, end, lineNo)` gets the decoded chunk
 * and the line's offsets in it, for readers that only need a few fields of millions of lines.
 */
export function forEachLineSpan(file: string, onLine: (chunk: string, start: number, end: number, lineNo: number) => void): number {
  const fd = openForReading(file);
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry: Buffer = Buffer.alloc(0); // bytes after the last newline of the previous chunk
  let lineNo = 0;
  let first = true;
  let total = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      total += n;
      const eof = n === 0;
      const bytes: Buffer = carry.length ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let cut: number;
      if (eof) {
        if (bytes.length === 0) break;
        cut = bytes.length;
      } else {
        cut = bytes.lastIndexOf(NEWLINE) + 1;
        if (cut === 0) {
          carry = Buffer.from(bytes); // a very long line: keep accumulating
          continue;
        }
      }
      const body = bytes.subarray(0, cut);
      carry = eof ? Buffer.alloc(0) : Buffer.from(bytes.subarray(cut));
      let text: string;
      try {
        text = decoder.decode(body);
      } catch {
        throw new UserError(`${where(file, badUtf8Line(body, lineNo + 1))}: bytes are not valid UTF-8`);
      }
      if (first) {
        if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        first = false;
      }
      let start = 0;
      const end = text.length;
      while (start < end) {
        let nl = text.indexOf('\n', start);
        if (nl < 0) nl = end;
        let stop = nl;
        if (stop > start && text.charCodeAt(stop - 1) === 13) stop--;
        onLine(text, start, stop, ++lineNo);
        start = nl + 1;
      }
      if (eof) break;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (total === 0) throw new UserError(`${file}: file is empty`);
  return lineNo;
}

/** True when a line holds nothing but spaces and tabs. */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 11 && c !== 12) return false;
  }
  return true;
}

/**
 * Splits a line on runs of whitespace (space, tab, \v, \f, \r), like C's isspace-driven scanners
 * in trec_eval. Leading and trailing whitespace yield no empty fields.
 */
export function splitWhitespace(text: string, out: string[] = []): string[] {
  out.length = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    if (i >= n) break;
    const s = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    out.push(text.slice(s, i));
  }
  return out;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}
