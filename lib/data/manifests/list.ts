/**
 * The data manifests as rows to show (`colbert-zero data list`, notebooks): what each dataset or
 * checkpoint is, where it comes from (Hub repository and pinned revision), its size and licence, what
 * uses it, and whether a copy is in the data cache.
 */
import { copyDir, isVerified, readLock } from '../store';
import { loadManifests, manifestsDir } from './load';
import type { Manifest } from './schema';

export interface ManifestRow {
  id: string;
  kind: Manifest['kind'];
  group: Manifest['group'];
  format: Manifest['format'];
  title: string;
  /** Each source as `owner/name@revision` (a commit shortened to 12 characters). */
  sources: string[];
  size: string;
  licence: string;
  usedBy: string[];
  /** '-' (no copy), 'fetched', 'imported' (both verified), 'not verified' or 'bad lock'. */
  cache: string;
  cacheDir: string;
}

/**
 * The cache status of a manifest's copy: '-', 'fetched' or 'imported' (a verified copy), 'not verified'
 * (a partial fetch, a failed verification, or a copy an older version never marked: run data verify), or
 * 'bad lock'.
 */
export function cacheStatus(id: string): string {
  try {
    const lock = readLock(id);
    if (!lock) return '-';
    if (!isVerified(lock)) return 'not verified';
    return lock.origin === 'hub' ? 'fetched' : 'imported';
  } catch {
    return 'bad lock';
  }
}

/** A manifest's size as a person reads it: the recorded bytes, else the approximate size, else 'unknown'. */
function sizeText(m: Manifest): string {
  if (m.size.bytes !== null) return `${(m.size.bytes / 1e9).toFixed(m.size.bytes < 1e9 ? 3 : 1)} GB`;
  return m.size.approx ?? 'unknown';
}

/** Every manifest (of `dir`, default the project's or CZ_MANIFESTS_DIR's), optionally of some groups, as rows sorted by id. */
export function listManifests(o: { dir?: string; groups?: Array<Manifest['group']> } = {}): ManifestRow[] {
  const all = loadManifests(o.dir ?? manifestsDir());
  return all
    .filter((m) => !o.groups || o.groups.includes(m.group))
    .map((m) => ({
      id: m.id,
      kind: m.kind,
      group: m.group,
      format: m.format,
      title: m.title,
      sources: m.sources.map((s) => `${s.hub}@${/^[0-9a-f]{40}$/.test(s.revision) ? s.revision.slice(0, 12) : s.revision}`),
      size: sizeText(m),
      licence: m.licence.id ?? 'see card',
      usedBy: m.usedBy,
      cache: cacheStatus(m.id),
      cacheDir: copyDir(m.id),
    }));
}
