/**
 * Files are written whole or not at all: write to a temporary name beside the target, then rename.
 * A crash leaves either the old file or the new one, never half of one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors';
import { fsProblem, isFsError, makeDirs } from './fs-errors';

/** A temporary name beside `target`, unique to this process and moment (removeStaleTemporaries knows it). */
export function tempName(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${Date.now()}`);
}

/** True when a process with this id is running (signal 0 probes without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what a killed writer of `target` left behind: temporaries named as `tempName` names them whose
 * process is gone. Only names this module makes are touched, never a user's file.
 */
export function removeStaleTemporaries(target: string): string[] {
  const dir = path.dirname(target);
  if (!fs.existsSync(dir)) return [];
  const prefix = `.${path.basename(target)}.tmp-`;
  const removed: string[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(\d+)-\d+(-old)?$/.exec(name.slice(prefix.length));
    if (!m || processAlive(Number(m[1]))) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** A file-system failure while writing `target` as one line naming it (other errors pass through). */
function writeFailure(target: string, e: unknown): unknown {
  return isFsError(e) ? new UserError(`cannot write ${fsProblem(target, e, 'a file', 'write')}`) : e;
}

export function writeFileAtomic(target: string, data: string | Uint8Array): void {
  const parent = path.dirname(path.resolve(target));
  if (!fs.existsSync(parent)) makeDirs(parent, 'file', target);
  const tmp = tempName(target);
  try {
    fs.writeFileSync(tmp, data);
    fs.renameSync(tmp, target);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw writeFailure(target, e);
  }
}

export function writeJsonAtomic(target: string, value: unknown): void {
  writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Replaces a whole directory atomically: `fill` writes into a fresh temporary sibling, which then takes
 * the target's place. The previous directory survives until the new one is complete.
 */
export function writeDirAtomic(target: string, fill: (dir: string) => void | Promise<void>): Promise<void> {
  const abs = path.resolve(target);
  if (!fs.existsSync(path.dirname(abs))) makeDirs(path.dirname(abs), 'folder', target);
  removeStaleTemporaries(abs);
  const tmp = tempName(abs);
  try {
    fs.mkdirSync(tmp);
  } catch (e) {
    return Promise.reject(writeFailure(abs, e));
  }
  const old = `${tmp}-old`;
  return Promise.resolve()
    .then(() => fill(tmp))
    .then(
      () => {
        try {
          const had = fs.existsSync(abs);
          if (had) fs.renameSync(abs, old);
          fs.renameSync(tmp, abs);
          if (had) fs.rmSync(old, { recursive: true, force: true });
        } catch (e) {
          throw writeFailure(abs, e);
        }
      },
    )
    .catch((e) => {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    });
}
