/**
 * BEIR test sets already on this machine, found without downloading anything: a verified copy in the
 * data cache (`colbert-zero data fetch` / `data import` of a `beir-<name>` manifest, when it is in BEIR's
 * JSONL layout; a copy that did not verify is never used), else the shared reference data beside the project (`CZ_SHARED_DATA`, else `../shared/data`
 * from the project root), under `beir/<name>/`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyDir, isVerified, readLock } from './store';
import { sharedDataPath } from '../util/shared-data';

export interface LocalBeirSet {
  /** The BEIR name asked for ("scifact"). */
  name: string;
  dir: string;
  /** Where it was found. */
  source: 'data cache' | 'shared data';
}

function isBeirFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'corpus.jsonl')) && fs.existsSync(path.join(dir, 'queries.jsonl')) && fs.existsSync(path.join(dir, 'qrels'));
}

/** Each of `names` found locally (the data cache first, then the shared data), in the order asked; missing ones are left out. */
export function localBeirSets(names: string[]): LocalBeirSet[] {
  const shared = sharedDataPath();
  const out: LocalBeirSet[] = [];
  for (const name of names) {
    let cached: string | null = null;
    try {
      if (isVerified(readLock(`beir-${name}`))) cached = copyDir(`beir-${name}`);
    } catch {
      cached = null; // an unreadable lock is verify's business; look elsewhere
    }
    if (cached && isBeirFolder(cached)) out.push({ name, dir: cached, source: 'data cache' });
    else if (shared && isBeirFolder(path.join(shared, 'beir', name))) out.push({ name, dir: path.join(shared, 'beir', name), source: 'shared data' });
  }
  return out;
}
