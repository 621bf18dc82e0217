/**
 * The `colbert-zero` command line. Each command lives in `commands/<name>.ts` and is listed in
 * `commands/registry.ts`. Commands import the library's modules by path: the same functions lib/index.ts
 * exports to notebooks, plus the machinery it leaves out (parallel encoding, memory limits, output checks,
 * safetensors IO); option parsing and printing are the only work done here.
 *
 * Exit codes: 0 success, 1 the work failed (bad data, failed check), 2 the command was used wrongly (an
 * option or environment variable with a bad value). Errors print as one line; `CZ_DEBUG=1` adds the stack.
 */
import { Command, CommanderError } from 'commander';
import { UsageError, UserError } from '../util/errors';
import { checkEnvironment, envValue } from '../util/env';
import { COMMANDS } from './commands/registry';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

/**
 * Builds the program. With `only`, just that command is loaded (the common case: a known command name
 * is the first argument); otherwise all are, for help and for error messages that list them.
 */
function buildProgram(only?: string): Command {
  const program = new Command('colbert-zero')
    .description('Late-interaction retrieval workbook: train, encode, search and evaluate ColBERT and dense models.')
    .version((require('../../package.json') as { version: string }).version, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    // The environment is checked like the options: after them, before any work.
    .hook('preAction', () => checkEnvironment());
  if (only === '--version' || only === '-V') return program; // no command needed: answer at once
  const chosen = COMMANDS.filter((c) => c.name === only);
  for (const c of chosen.length ? chosen : COMMANDS) c.load()(program);
  // commander shows nothing special for a required option: say it in the help.
  for (const cmd of program.commands) {
    for (const o of cmd.options) if (o.mandatory && !/\(required/.test(o.description)) o.description += ' (required)';
  }
  return program;
}

/** CZ_DEBUG=1, read without throwing (an invalid value is reported as a usage error of its own). */
function debugging(): boolean {
  try {
    return envValue('CZ_DEBUG') === '1';
  } catch {
    return false;
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    // commander already printed its message (or the help text).
    return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? EXIT_OK : EXIT_USAGE;
  }
  const err = e as Error;
  const message = (err && err.message ? err.message : String(e)).split('\n')[0];
  process.stderr.write(`colbert-zero: error: ${message}\n`);
  if (debugging() && err && err.stack) process.stderr.write(err.stack + '\n');
  else if (!(e instanceof UserError)) process.stderr.write('colbert-zero: (set CZ_DEBUG=1 to see where this came from)\n');
  return e instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** Parses argv (as process.argv: node, script, ...args) and runs the command; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  // `help NAME` for a command that does not exist: commander would print the whole help and exit 0.
  if (argv[2] === 'help' && argv[3] !== undefined && !COMMANDS.some((c) => c.name === argv[3])) {
    process.stderr.write(`colbert-zero: error: unknown command '${argv[3]}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n`);
    return EXIT_USAGE;
  }
  // `help data fetch` is `data fetch --help` (commander's own help command knows one level only).
  if (argv[2] === 'help' && argv[3] !== undefined) argv = [argv[0], argv[1], ...argv.slice(3), '--help'];
  try {
    await buildProgram(argv[2]).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (e) {
    return report(e);
  }
}

/**
 * Entry point for bin/: runs main, then exits with its code once stdout and stderr have handed every
 * byte to the OS. Exiting at once would drop what a pipe has not taken yet (a slow reader gets only the
 * first 64 KiB); not exiting could hang on lingering handles (worker threads), hence the explicit exit.
 */
export function run(argv: string[]): void {
  // The reader went away (`| head -1`): the rest has nowhere to go, which is not an error of ours.
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK);
      throw e;
    });
  }
  main(argv).then(exitAfterFlush, (e) => exitAfterFlush(report(e)));
}

function exitAfterFlush(code: number): void {
  process.exitCode = code;
  let pending = 2;
  // A write's callback runs after every earlier write of that stream has been flushed.
  const done = () => --pending === 0 && process.exit(code);
  process.stdout.write('', done);
  process.stderr.write('', done);
}
