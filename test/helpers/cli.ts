import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from './shared';

export interface CliResult {
  code: number;
  /** The signal that ended the process (e.g. SIGKILL), or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** NODE_OPTIONS that preload one of test/helpers' .cjs hooks into the command's process. */
export function preload(helper: string): Record<string, string> {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(PROJECT_ROOT, 'test', 'helpers', helper)}`.trim() };
}

/** Runs `colbert-zero` as a user would (a separate process), with the given environment additions. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: string } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs'), ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, CZ_PROGRESS: '0', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
