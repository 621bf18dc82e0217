import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** A new, empty folder `cz-<label>-XXXXXX` under `parent` (the system's temporary folder by default); the caller removes it. */
export function tmpDir(label: string, parent: string = os.tmpdir()): string {
  return fs.mkdtempSync(path.join(parent, `cz-${label}-`));
}
