/**
 * Reads and checks data manifests. Every problem is one line naming the file and the key
 * (`data-manifests/scifact.json: sources.0.revision: ...`), and a folder of manifests is checked whole:
 * ids are unique and each file is named after its id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { z } from 'zod';
import { UserError } from '../../util/errors';
import { ManifestSchema, type Manifest } from './schema';

/** The project's manifests folder (`data-manifests/` at the repository root). */
export const MANIFESTS_DIR = path.resolve(__dirname, '..', '..', '..', 'data-manifests');

/** Where manifests are read from: `CZ_MANIFESTS_DIR` (your own manifests), else the project's folder. */
export function manifestsDir(): string {
  return process.env.CZ_MANIFESTS_DIR ? path.resolve(process.env.CZ_MANIFESTS_DIR) : MANIFESTS_DIR;
}

function keyOf(issuePath: ReadonlyArray<PropertyKey>): string {
  return issuePath.length ? issuePath.map(String).join('.') : '(top level)';
}

/** `key: message`; an unknown key is named as the key itself. */
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const more = issue.keys.length > 1 ? ` (also ${issue.keys.slice(1).join(', ')})` : '';
    return `${keyOf([...issue.path, issue.keys[0]])}: unknown key${more}`;
  }
  return `${keyOf(issue.path)}: ${issue.message}`;
}

/** Checks a parsed value as the manifest in `file`; throws one line naming the file and key. */
export function parseManifest(value: unknown, file: string): Manifest {
  const r = ManifestSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : '';
    throw new UserError(`${file}: ${describe(issue)}${more}`);
  }
  const m = r.data;
  const base = path.basename(file, '.json');
  if (base !== m.id) throw new UserError(`${file}: id: "${m.id}" must match the file name ("${base}")`);
  const seen = new Set<string>();
  m.sources.forEach((s, i) => {
    s.files.forEach((f, j) => {
      const where = s.into ? `${s.into}/${f.path}` : f.path;
      if (seen.has(where)) throw new UserError(`${file}: sources.${i}.files.${j}.path: "${where}" is listed twice`);
      seen.add(where);
    });
  });
  return m;
}

/** Reads one manifest file. */
export function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot read (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: malformed JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return parseManifest(value, file);
}

/** Reads every `*.json` manifest of a folder, sorted by id. */
export function loadManifests(dir: string = manifestsDir()): Manifest[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${dir}: cannot read the manifests folder (${code === 'ENOENT' ? 'no such folder' : code ?? String(e)})`);
  }
  const out = names.map((n) => loadManifest(path.join(dir, n)));
  return out.sort((a, b) => a.id.localeCompare(b.id));
}

/** The manifest with this id, or a one-line error listing near names. */
export function findManifest(id: string, dir: string = manifestsDir()): Manifest {
  const all = loadManifests(dir);
  const m = all.find((x) => x.id === id);
  if (m) return m;
  const near = all.filter((x) => x.id.includes(id) || id.includes(x.id)).map((x) => x.id);
  const hint = near.length ? `; did you mean ${near.slice(0, 5).join(', ')}?` : '; `colbert-zero data list` shows them';
  throw new UserError(`no data manifest with id '${id}' in ${dir}${hint}`);
}
