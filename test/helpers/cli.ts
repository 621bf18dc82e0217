import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT } from './shared';

export interface CliResult {
  code: number;
  /** The signal that ended the process (e.g. SIGKILL), or null when it exited. */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the command ran past its `timeout` and was killed. */
  timedOut?: boolean;
}

/** NODE_OPTIONS that preload one of test/helpers' .cjs hooks into the command's process. */
export function preload(helper: string): Record<string, string> {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(PROJECT_ROOT, 'test', 'helpers', helper)}`.trim() };
}

/** Runs `colbert-zero` as a user would (a separate process), with the given environment additions. */
export function runCli(args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs'), ...args], {
    cwd: opts.cwd ?? PROJECT_ROOT,
    env: { ...process.env, CZ_PROGRESS: '0', ...opts.env },
    input: opts.input,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    // A time limit (ms) makes a hang fail the test instead of stalling the suite: the process is killed with SIGKILL.
    ...(opts.timeout ? { timeout: opts.timeout, killSignal: 'SIGKILL' as const } : {}),
  });
  return { code: r.status ?? -1, signal: r.signal, stdout: r.stdout ?? '', stderr: r.stderr ?? '', timedOut: opts.timeout !== undefined && r.signal === 'SIGKILL' };
}
