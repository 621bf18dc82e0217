/**
 * One writer at a time: a lock file holds the process id of the run that owns a folder (a results
 * folder, a phase's folder, a copy in the data cache). A second run is stopped with one line naming the
 * first one's process; a lock left by a process that no longer exists (killed, crashed) is taken over.
 *
 *   const release = claimLock(path.join(dir, '.colbert-zero-lock'), `--results ${dir}`);
 *   try { ... } finally { release(); }
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from './errors';
import { processAlive } from './atomic';
import { fsProblem, makeDirs } from './fs-errors';

interface LockRecord {
  pid: number;
  host: string;
  command: string;
  started: string;
}

function readRecord(file: string): LockRecord | null {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    // A bare process id is what locks held before they recorded more.
    const r = (/^\d+$/.test(text) ? { pid: Number(text), host: os.hostname(), command: '', started: '' } : JSON.parse(text)) as Partial<LockRecord>;
    return Number.isSafeInteger(r.pid) && (r.pid as number) > 0 ? { pid: r.pid!, host: String(r.host ?? os.hostname()), command: String(r.command ?? ''), started: String(r.started ?? '') } : null;
  } catch {
    return null; // being written, or not one of ours
  }
}

/**
 * Takes the lock `file` for `what` (named in the message a second run gets: "`what` is in use by another
 * run (process N, ...)"). Returns the release function; the lock is also dropped when this process exits
 * normally.
 */
export function claimLock(file: string, what: string): () => void {
  makeDirs(path.dirname(file), 'lock folder');
  const record: LockRecord = { pid: process.pid, host: os.hostname(), command: process.argv.slice(2).join(' ').slice(0, 80), started: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(record) + '\n', { flag: 'wx' });
      let held = true;
      const release = () => {
        if (!held) return;
        held = false;
        process.off('exit', release);
        if (readRecord(file)?.pid === process.pid) fs.rmSync(file, { force: true });
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UserError(`${what}: cannot take its lock: ${fsProblem(file, e, 'a file', 'write')}`);
    }
    const other = readRecord(file);
    if (other === null) {
      // Being written this instant by another run, or damaged: look again before judging.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 2000) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        continue;
      }
    } else if (other.host !== os.hostname() || processAlive(other.pid)) {
      const about = [other.host !== os.hostname() ? `on ${other.host}` : '', other.command ? `colbert-zero ${other.command}` : '', other.started ? `since ${other.started}` : ''].filter(Boolean);
      throw new UserError(`${what} is in use by another run (process ${other.pid}${about.length ? `, ${about.join(', ')}` : ''}); wait for it to end or stop it (if none is running, remove ${file})`);
    }
    // Its process is gone: a stale lock, taken over (unless another run has just done so).
    const again = readRecord(file);
    if (again === null || (again.pid === other?.pid && again.started === other?.started)) fs.rmSync(file, { force: true });
  }
  throw new UserError(`${what}: cannot take the lock ${file} (other runs keep taking it)`);
}
