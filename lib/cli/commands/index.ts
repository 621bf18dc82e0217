import type { Command } from 'commander';
import { registerBackend } from './backend';

/** Every command, in the order `--help` lists them. Add one line per new command. */
export const COMMANDS: Array<(program: Command) => void> = [registerBackend];
