/**
 * `npm run kernel`: registers the tslab kernel "colbert-zero" for this repository. The kernel starts at
 * the repository root, where notebooks import `./lib/index`. By default the spec goes into the
 * project-local Jupyter path `.jupyter/` (no global side effect): start Jupyter with
 * `JUPYTER_PATH=.jupyter jupyter lab`. `npm run kernel -- --user` installs it for the current user instead.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const KERNEL_NAME = 'colbert-zero';
export const ROOT = path.resolve(__dirname, '..', '..');
export const LOCAL_JUPYTER_PATH = path.join(ROOT, '.jupyter');

/** The kernel spec: tslab from this repository's node_modules, started at the repository root. */
export function kernelSpec(root = ROOT): Record<string, unknown> {
  return {
    argv: ['/bin/sh', '-c', 'cd "$CZ_ROOT" && exec ./node_modules/.bin/tslab kernel --config-path "$0"', '{connection_file}'],
    display_name: 'TypeScript (colbert-zero)',
    language: 'typescript',
    env: { CZ_ROOT: root },
  };
}

/** Writes the spec under `<jupyterPath>/kernels/colbert-zero/` and returns that folder. */
export function installKernel(jupyterPath = LOCAL_JUPYTER_PATH): string {
  const dir = path.join(jupyterPath, 'kernels', KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelSpec(), null, 2) + '\n');
  return dir;
}

if (require.main === module) {
  const user = process.argv.includes('--user');
  let target = LOCAL_JUPYTER_PATH;
  if (user) {
    const r = spawnSync('jupyter', ['--data-dir'], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write('kernel: `jupyter --data-dir` failed: is Jupyter installed?\n');
      process.exit(1);
    }
    target = r.stdout.trim();
  }
  const dir = installKernel(target);
  process.stdout.write(`kernel "${KERNEL_NAME}" written to ${path.relative(process.cwd(), dir) || dir}\n`);
  if (!user) process.stdout.write('start Jupyter with: JUPYTER_PATH=.jupyter jupyter lab notebooks/\n');
}
