import type { Command } from 'commander';

export type Register = (program: Command) => void;

/**
 * Every command, in the order `--help` lists them: its name and how to load it. Commands are loaded
 * only when used (TensorFlow.js and the model code take seconds to import), so `eval-run` starts fast.
 */
export const COMMANDS: Array<{ name: string; load: () => Register }> = [
  { name: 'reproduce', load: () => require('./reproduce').registerReproduce },
  { name: 'backend', load: () => require('./backend').registerBackend },
  { name: 'eval-run', load: () => require('./eval-run').registerEvalRun },
  { name: 'init-model', load: () => require('./init-model').registerInitModel },
  { name: 'encode', load: () => require('./encode').registerEncode },
  { name: 'score', load: () => require('./score').registerScore },
  { name: 'index', load: () => require('./index').registerIndex },
  { name: 'search', load: () => require('./search').registerSearch },
  { name: 'export-onnx', load: () => require('./export-onnx').registerExportOnnx },
  { name: 'train', load: () => require('./train').registerTrain },
  { name: 'gradcheck', load: () => require('./gradcheck').registerGradcheck },
  { name: 'data', load: () => require('./data').registerData },
  { name: 'report', load: () => require('./report').registerReport },
  { name: 'export-pylate', load: () => require('./export-pylate').registerExportPylate },
];
