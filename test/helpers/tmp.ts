import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A new, empty folder `cz-<label>-XXXXXX` in the system's temporary folder; the caller removes it. */
export function tmpDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `cz-${label}-`));
}
