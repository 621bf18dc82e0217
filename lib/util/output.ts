/**
 * Where a command may write. An output path that exists is replaced only when it is a previous output of
 * the same command (recognised by a marker or manifest that command writes) and the user said
 * `--overwrite`; anything else at that path — a dataset, a source folder, `.` — is an error naming it.
 * Replacing stays write-then-rename (lib/util/atomic.ts), so nothing the command did not create is deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeDirAtomic } from './atomic';
import { UserError } from './errors';

/** Written into every output folder a command creates, naming the command. */
export const OUTPUT_MARKER = '.colbert-zero-output.json';

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

/** True when `dir` holds the marker of `command`. */
export function hasMarker(dir: string, command: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, OUTPUT_MARKER), 'utf8')) as { command?: string }).command === command;
  } catch {
    return false;
  }
}

export function writeMarker(dir: string, command: string): void {
  fs.writeFileSync(path.join(dir, OUTPUT_MARKER), JSON.stringify({ command, written: new Date().toISOString() }) + '\n');
}

/** `inner` is `outer` or lies inside it. */
function contains(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Makes `dir` and its missing parents one level at a time (Node's recursive mkdirSync spins forever
 * under /proc), so the loop is bounded by the path's depth and a failure names the directory.
 */
export function makeDirs(dir: string, what = 'output'): void {
  const abs = path.resolve(dir);
  const missing: string[] = [];
  let p = abs;
  while (!fs.existsSync(p)) {
    missing.unshift(p);
    const up = path.dirname(p);
    if (up === p) break;
    p = up;
  }
  if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) throw new UserError(`cannot write ${what} ${dir}: ${p} is a file, not a directory`);
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
    } catch (e) {
      throw new UserError(`cannot write ${what} ${dir}: cannot create directory ${d} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  }
  try {
    fs.accessSync(abs, fs.constants.W_OK);
  } catch {
    throw new UserError(`cannot write ${what} ${dir}: ${abs} is not writable`);
  }
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
  makeDirs(path.dirname(abs), what);
}

/**
 * A folder a command fills in place (a training run: logs, checkpoints, resumable) rather than replaces:
 * it must be new, empty, or a previous output of that command. Made here, so an unwritable path fails
 * before any work with one line.
 */
export function checkOutputFolder(target: string, spec: { command: string; isOurs?: (dir: string) => boolean; option?: string }): void {
  const opt = spec.option ?? 'output';
  if (contains(path.resolve(target), process.cwd())) throw new UserError(`${opt} ${target}: is the current directory or one of its parents; choose a new folder`);
  if (fs.existsSync(target)) {
    if (!fs.statSync(target).isDirectory()) throw new UserError(`${opt} ${target}: exists and is not a folder`);
    const ours = (spec.isOurs ?? ((d: string) => hasMarker(d, spec.command)))(target);
    if (!ours && fs.readdirSync(target).length > 0) throw new UserError(`${opt} ${target}: exists and is not a previous ${spec.command} output; choose a new folder`);
  }
  makeDirs(target, `${spec.command} output`);
}

/** Writes an output folder atomically (write, then rename) with the command's marker inside. */
export function writeOutputDir(target: string, command: string, fill: (dir: string) => void | Promise<void>): Promise<void> {
  return writeDirAtomic(target, async (tmp) => {
    await fill(tmp);
    writeMarker(tmp, command);
  });
}
