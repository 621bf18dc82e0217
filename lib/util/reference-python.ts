import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The reference environment's Python (torch, pylate, maxsim-cpu, pytrec_eval: test/reference/venv.sh), for
 * benchmarks and optional tests: CZ_REFERENCE_VENV, else `.venv-reference` under `root` when one is given.
 * Null when it is absent, or when it cannot import every one of `modules`.
 */
export function referencePython(o: { root?: string; modules?: string[] } = {}): string | null {
  const venv = process.env.CZ_REFERENCE_VENV || (o.root ? path.join(o.root, '.venv-reference') : null);
  if (!venv) return null;
  const py = path.join(venv, 'bin', 'python');
  if (!fs.existsSync(py)) return null;
  if (o.modules?.length && spawnSync(py, ['-c', `import ${o.modules.join(', ')}`], { encoding: 'utf8' }).status !== 0) return null;
  return py;
}
