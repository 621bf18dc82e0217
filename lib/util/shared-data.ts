/**
 * The reference data that lives beside a checkout, never inside it (trec_eval's suite, BEIR sets, the
 * ModernBERT tokenizer, PyLate's vectors): `CZ_SHARED_DATA` when set (and then only there), else
 * `../shared/data` from the project root. Notebooks use it when present and say so; nothing needs it.
 *
 *   const dir = sharedDataPath('tokenizers', 'modernbert');   // a path, or null when absent
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the shared data is looked for (it may not exist). */
export function sharedDataLocation(): string {
  return path.resolve(process.env.CZ_SHARED_DATA || path.join(__dirname, '..', '..', '..', 'shared', 'data'));
}

/** The path of `parts` under the shared data when it exists, else null. */
export function sharedDataPath(...parts: string[]): string | null {
  const p = path.join(sharedDataLocation(), ...parts);
  return fs.existsSync(p) ? p : null;
}
