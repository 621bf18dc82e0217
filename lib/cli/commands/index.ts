import type { Command } from 'commander';
import { registerBackend } from './backend';
import { registerEvalRun } from './eval-run';
import { registerInitModel } from './init-model';
import { registerEncode } from './encode';
import { registerScore } from './score';
import { registerIndex } from './index-corpus';
import { registerSearch } from './search';
import { registerTrain } from './train';
import { registerGradcheck } from './gradcheck';

/** Every command, in the order `--help` lists them. Add one line per new command. */
export const COMMANDS: Array<(program: Command) => void> = [registerBackend, registerEvalRun, registerInitModel, registerEncode, registerScore, registerIndex, registerSearch, registerTrain, registerGradcheck];
