/**
 * `npm run kernel`: registers the tslab kernel "colbert-zero" for this repository. The kernel starts at
 * the repository root, where notebooks import `./lib/index`. By default the spec goes into the
 * project-local Jupyter path `.jupyter/` (no global side effect): start Jupyter with
 * `JUPYTER_PATH=.jupyter jupyter lab`. `npm run kernel -- --user` installs it for the current user instead.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeDirs } from '../../lib/util/fs-errors';

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
  makeDirs(dir, 'the kernel spec');
  fs.writeFileSync(path.join(dir, 'kernel.json'), JSON.stringify(kernelSpec(), null, 2) + '\n');
  return dir;
}

const USAGE = 'usage: npm run kernel [-- --user]';

/** The options: none, or --user; anything else is a usage error (exit 2), before anything is written. */
export function parseKernelArgs(argv: string[]): { user: boolean } | { error: string } {
  const unknown = argv.find((a) => a !== '--user');
  return unknown === undefined ? { user: argv.includes('--user') } : { error: `unknown ${unknown.startsWith('-') ? 'option' : 'argument'} ${unknown} (${USAGE})` };
}

if (require.main === module) {
  const args = parseKernelArgs(process.argv.slice(2));
  if ('error' in args) {
    process.stderr.write(`kernel: ${args.error}\n`);
    process.exit(2);
  }
  const user = args.user;
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
