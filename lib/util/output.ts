/**
 * Where a command may write, and how it replaces what it wrote before. An output path that exists is
 * replaced only when it is a previous output of the same command (its marker, or a manifest that command
 * writes) and the user said `--overwrite`; anything else at that path — a dataset, a source folder, `.` —
 * is an error naming it.
 *
 * Every output folder is written by `writeOutputDir`: the files go to a temporary sibling first, and a
 * record lists them — the marker `.colbert-zero-output.json`, or the output's own manifest where it has
 * one that lists its files (an index, an export, a report). Replacing a previous output touches only the
 * files its record lists: a file the user added inside the folder stays where it is, and a user's file
 * where the new output would write is an error, never overwritten. A folder with nothing of the user's in
 * it is swapped whole (write, then rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempName, removeStaleTemporaries } from './atomic';
import { UserError } from './errors';
import { fsProblem, isFsError, makeDirs, statOrNull } from './fs-errors';
import { readJsonFile } from './json';

/** Written into every output folder a command creates, naming the command and the files it wrote. */
export const OUTPUT_MARKER = '.colbert-zero-output.json';

export interface OutputMarker {
  command: string;
  written: string;
  /** Every file the command wrote, relative, '/'-separated. Absent in markers of folders filled in place (a training run). */
  files?: string[];
}

export interface OutputSpec {
  /** The command that writes it (`init-model`, `index`, ...), named in errors and in the marker. */
  command: string;
  kind: 'dir' | 'file';
  /** The user asked to replace a previous output (`--overwrite`). */
  overwrite?: boolean;
  /** Recognises a previous output folder of this command; default: its marker names the command. */
  isOurs?: (dir: string) => boolean;
  /** How the path was given, for messages (default `--out`). */
  option?: string;
}

export function readMarker(dir: string): OutputMarker | null {
  try {
    const m = readJsonFile<Partial<OutputMarker>>(path.join(dir, OUTPUT_MARKER));
    if (typeof m.command !== 'string') return null;
    const files = Array.isArray(m.files) && m.files.every((f) => typeof f === 'string' && isInside(f)) ? m.files : undefined;
    return { command: m.command, written: String(m.written ?? ''), ...(files ? { files } : {}) };
  } catch {
    return null;
  }
}

/** True when `dir` holds the marker of `command`. */
export function hasMarker(dir: string, command: string): boolean {
  return readMarker(dir)?.command === command;
}

/** Writes the marker of `command` into `dir` (atomically), with the files it wrote when known. */
export function writeMarker(dir: string, command: string, files?: string[]): void {
  const marker: OutputMarker = { command, written: new Date().toISOString(), ...(files ? { files: [...files].sort() } : {}) };
  const target = path.join(dir, OUTPUT_MARKER);
  const tmp = tempName(target);
  fs.writeFileSync(tmp, JSON.stringify(marker, null, 1) + '\n');
  fs.renameSync(tmp, target);
}

/** A relative '/'-separated path that stays inside its folder (a marker is data; never trust it to leave). */
function isInside(rel: string): boolean {
  return rel !== '' && !rel.startsWith('/') && !rel.includes('\\') && rel.split('/').every((p) => p !== '' && p !== '.' && p !== '..');
}

/** `inner` is `outer` or lies inside it. */
function contains(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Every entry of a folder as a relative path: files, links (never followed) and empty folders; the
 * marker left out.
 */
function listEntries(dir: string, prefix = ''): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (rel === OUTPUT_MARKER) continue;
    if (e.isDirectory()) {
      const inner = listEntries(dir, rel);
      out.push(...(inner.length ? inner : [rel]));
    } else out.push(rel);
  }
  return out;
}

/**
 * Checks, before any work starts, that `target` may be written as `spec` says, and makes its parent
 * folder. Throws a one-line UserError naming the path otherwise.
 */
export function checkOutput(target: string, spec: OutputSpec): void {
  const opt = spec.option ?? '--out';
  const abs = path.resolve(target);
  const what = `${spec.command} output`;
  if (contains(abs, process.cwd())) throw new UserError(`${opt} ${target}: is the current directory or one of its parents; refusing to replace it`);
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(abs);
  } catch {
    st = null;
  }
  if (st && spec.kind === 'file') {
    if (!st.isFile()) throw new UserError(`${opt} ${target}: exists and is not a file; refusing to replace it`);
    if (!spec.overwrite) throw new UserError(`${opt} ${target}: file exists; add --overwrite to replace it`);
  }
  if (st && spec.kind === 'dir') {
    const ours = st.isDirectory() && (spec.isOurs ?? ((d: string) => hasMarker(d, spec.command)))(abs);
    const empty = st.isDirectory() && fs.readdirSync(abs).length === 0;
    if (!ours && !empty) throw new UserError(`${opt} ${target}: exists and is not a previous ${what}; refusing to replace it (choose a new path)`);
    if (ours && !spec.overwrite) throw new UserError(`${opt} ${target}: holds a previous ${what}; add --overwrite to replace it`);
  }
  makeDirs(path.dirname(abs), what, target);
}

/**
 * A folder a command fills in place (a training run: logs, checkpoints, resumable) rather than replaces:
 * it must be new, empty, or a previous output of that command. Made here, so an unwritable path fails
 * before any work with one line; with `make: false` (a dry run) only checked, nothing made or written.
 */
export function checkOutputFolder(target: string, spec: { command: string; isOurs?: (dir: string) => boolean; option?: string; make?: boolean }): void {
  const opt = spec.option ?? 'output';
  const abs = path.resolve(target);
  if (contains(abs, process.cwd())) throw new UserError(`${opt} ${target}: is the current directory or one of its parents; choose a new folder`);
  const st = statOrNull(abs);
  if (st) {
    if (!st.isDirectory()) throw new UserError(`${opt} ${target}: exists and is not a folder`);
    const ours = (spec.isOurs ?? ((d: string) => hasMarker(d, spec.command)))(abs);
    if (!ours && fs.readdirSync(abs).length > 0) throw new UserError(`${opt} ${target}: exists and is not a previous ${spec.command} output; choose a new folder`);
  }
  if (spec.make !== false) return makeDirs(abs, `${spec.command} output`);
  // Only look: the nearest folder that exists must be a folder this process may write in.
  let p = abs;
  while (!fs.existsSync(p) && path.dirname(p) !== p) p = path.dirname(p);
  try {
    if (!fs.statSync(p).isDirectory()) throw Object.assign(new Error('ENOTDIR'), { code: 'ENOTDIR' });
    fs.accessSync(p, fs.constants.W_OK);
  } catch (e) {
    throw new UserError(`${opt} ${target}: ${fsProblem(p, e, 'a folder', 'write')}`);
  }
}

export interface WriteOutputOptions {
  /**
   * An output that lists its own files in a manifest of its own (an index's manifest.json, an export's,
   * a report.json) needs no marker: `file` is that manifest and `files` reads the list back (null when
   * the folder holds none of its kind).
   */
  record?: { file: string; files: (dir: string) => string[] | null };
  /** Also recognises a previous output that records nothing (a report folder inside a reproduce results folder). */
  isOurs?: (dir: string) => boolean;
}

/**
 * Writes an output folder: `fill` writes into a temporary sibling, then the files take their place (see
 * the module comment). The caller has checked `target` with checkOutput (or its own rules); this refuses
 * again, before touching anything, to replace a folder that is not the command's or a file it did not
 * write. Returns the files written (relative).
 */
export async function writeOutputDir(target: string, command: string, fill: (dir: string) => void | Promise<void>, o: WriteOutputOptions = {}): Promise<string[]> {
  const abs = path.resolve(target);
  makeDirs(path.dirname(abs), `${command} output`, target);
  removeStaleTemporaries(abs);
  const tmp = tempName(abs);
  try {
    fs.mkdirSync(tmp);
  } catch (e) {
    throw new UserError(`cannot write ${command} output ${fsProblem(target, e, 'a folder', 'write')}`);
  }
  const failure = (e: unknown, at: string) => new UserError(`cannot write ${command} output ${fsProblem(at, e, 'a file', 'write')}`);
  try {
    try {
      await fill(tmp);
    } catch (e) {
      // A write into the temporary folder that failed (disk full, ...) is named as the output's file.
      throw isFsError(e) && e.path?.startsWith(tmp) ? failure(e, abs + e.path.slice(tmp.length)) : e;
    }
    try {
      return commitOutput(target, abs, tmp, command, o);
    } catch (e) {
      throw isFsError(e) ? failure(e, e.path ?? abs) : e;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function commitOutput(target: string, abs: string, tmp: string, command: string, o: WriteOutputOptions): string[] {
  const files = listEntries(tmp);
  // The record of what was written: the output's own manifest, else the marker.
  const record = (files: string[]) => (o.record ? undefined : writeMarker(abs, command, files));
  if (!o.record) writeMarker(tmp, command, files);
  let st: fs.Stats | null;
  try {
    st = fs.lstatSync(abs); // a link there is not followed: it is not ours to replace
  } catch {
    st = null;
  }
  if (!st) {
    fs.renameSync(tmp, abs);
    return files;
  }
  if (!st.isDirectory()) throw new UserError(`${target}: exists and is not a folder; refusing to replace it`);
  const marker = readMarker(abs);
  const present = listEntries(abs);
  const markedOurs = marker?.command === command;
  if (marker && !markedOurs) present.push(OUTPUT_MARKER); // another command's output: nothing here is ours
  // A record is data: a path in it that leaves the folder is never followed.
  const manifest = o.record?.files(abs)?.filter(isInside) ?? null;
  if (present.length > 0 && !markedOurs && manifest === null && !o.isOurs?.(abs)) throw new UserError(`${target}: exists and is not a previous ${command} output; refusing to replace it (choose a new path)`);
  const recorded = manifest ?? (markedOurs && marker.files ? marker.files : null);
  const previous = new Set(recorded ?? files.filter((f) => present.includes(f)));
  const foreign = present.filter((p) => !previous.has(p));
  if (foreign.length === 0 && !contains(abs, process.cwd())) {
    // Nothing of the user's: swap the folder whole.
    const old = `${tmp}-old`;
    fs.renameSync(abs, old);
    fs.renameSync(tmp, abs);
    fs.rmSync(old, { recursive: true, force: true });
    return files;
  }
  const shown = (list: string[]) => list.slice(0, 3).join(', ') + (list.length > 3 ? ` and ${list.length - 3} more` : '');
  if (recorded === null && foreign.length) {
    // A previous output that did not record its files: what else is there may be ours or the user's.
    throw new UserError(`${target}: holds files that ${command} did not record writing (${shown(foreign)}); move them away or choose a new path`);
  }
  const clash = files.filter((f) => foreign.some((u) => u === f || u.startsWith(`${f}/`) || f.startsWith(`${u}/`)));
  if (clash.length) throw new UserError(`${path.join(target, clash[0])}: exists and was not written by ${command}; not overwritten (move it away or choose a new path)`);
  // Files are replaced one by one beside the user's. The marker first lists old and new files, so a crash
  // part-way still knows all it wrote; an output's own manifest is moved last, so until then it lists the old.
  record([...new Set([...previous, ...files])]);
  for (const f of previous) {
    if (files.includes(f)) continue;
    const p = path.join(abs, ...f.split('/'));
    const s = fs.lstatSync(p, { throwIfNoEntry: false });
    if (s?.isDirectory()) removeIfEmpty(p); // an empty folder it wrote; one the user has since filled stays
    else if (s) fs.rmSync(p, { force: true });
    pruneEmptyParents(abs, f);
  }
  const last = o.record?.file;
  for (const f of [...files.filter((x) => x !== last), ...files.filter((x) => x === last)]) {
    const to = path.join(abs, ...f.split('/'));
    makeDirs(path.dirname(to), `${command} output`);
    fs.renameSync(path.join(tmp, ...f.split('/')), to);
  }
  record(files);
  return files;
}

function removeIfEmpty(dir: string): boolean {
  try {
    fs.rmdirSync(dir); // fails on a folder with anything in it
    return true;
  } catch {
    return false;
  }
}

/** Removes the now-empty folders above `rel` inside `root` (a folder with anything in it stays). */
function pruneEmptyParents(root: string, rel: string): void {
  for (let d = path.dirname(path.join(root, ...rel.split('/'))); d !== root && contains(root, d) && removeIfEmpty(d); d = path.dirname(d));
}
