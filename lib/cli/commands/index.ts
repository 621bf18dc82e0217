import type { Command } from 'commander';
import { registerBackend } from './backend';
import { registerEvalRun } from './eval-run';

/** Every command, in the order `--help` lists them. Add one line per new command. */
export const COMMANDS: Array<(program: Command) => void> = [registerBackend, registerEvalRun];
