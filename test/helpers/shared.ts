/**
 * Finds the shared reference data (trec_eval's suite, BEIR sets, tokenizers, PyLate vectors) that lives
 * beside the project, never inside it: `CZ_SHARED_DATA`, else `../shared/data` from the project root.
 * Tests that need it skip with a plain message when it is absent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sharedDataLocation, sharedDataPath } from '../../lib/util/shared-data';

/** The shared data folder, or null. When CZ_SHARED_DATA is set it is the only place looked at (set it to a missing path to test without the data). */
export function sharedDataDir(): string | null {
  return sharedDataPath();
}

let warned = false;

/** Path of a file under the shared data, or null (and one printed notice) when it is absent. */
export function sharedPath(...parts: string[]): string | null {
  const dir = sharedDataDir();
  const p = dir ? path.join(dir, ...parts) : null;
  if (p && fs.existsSync(p)) return p;
  if (!warned) {
    warned = true;
    process.stdout.write(
      `# NOTE: shared reference data not found (looked for ${p ?? sharedDataLocation()}; set CZ_SHARED_DATA or place it at ../shared/data); tests that need it are skipped\n`,
    );
  }
  return null;
}

/** The `skip` option for node:test: false when the file exists, else the reason. */
export function skipWithoutShared(...parts: string[]): false | string {
  return sharedPath(...parts) ? false : `shared data absent: ${parts.join('/')}`;
}

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

/**
 * The folder of the paper's extracted text (it is not part of the repository): `CZ_SHARED_PAPER` when set
 * (and then only there: set it to a missing path to test without it), else `../shared/paper`. Null when absent.
 */
export function sharedPaperDir(): string | null {
  const dir = path.resolve(process.env.CZ_SHARED_PAPER || path.join(PROJECT_ROOT, '..', 'shared', 'paper'));
  return fs.existsSync(dir) ? dir : null;
}
