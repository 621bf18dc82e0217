/**
 * The code version every written record carries: `<package version>+g<commit>`, with `-dirty` when tracked
 * files have uncommitted changes, and `<package version>+unknown` when git or the repository is absent (an
 * installed package). Git itself is asked, so packed refs, worktrees and detached heads all read right.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

function packageVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string' && pkg.version) return pkg.version;
  } catch {
    // no readable package.json: the version is unknown
  }
  return '0.0.0';
}

/** The commit and state of the checkout at `repoDir` (default: this project), or null outside one. */
function gitState(repoDir: string): { commit: string; dirty: boolean } | null {
  const git = (args: string[]) => execFileSync('git', args, { cwd: repoDir, stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' }).trim();
  try {
    // A folder inside some other repository (a package installed under a project) is not a checkout of this one.
    if (fs.realpathSync(git(['rev-parse', '--show-toplevel'])) !== fs.realpathSync(repoDir)) return null;
    const commit = git(['rev-parse', '--short=12', 'HEAD']);
    // Untracked files (results, caches) do not change the code that ran.
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

/** `0.1.0+g<12 hex>[-dirty]`, or `0.1.0+unknown` without git or a checkout at `repoDir`. */
export function codeVersion(repoDir: string = PROJECT_ROOT): string {
  const state = gitState(repoDir);
  return state ? `${packageVersion()}+g${state.commit}${state.dirty ? '-dirty' : ''}` : `${packageVersion()}+unknown`;
}
