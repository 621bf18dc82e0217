/**
 * colbert-zero-workbook: the public API. Notebooks, the CLI and tests import from here.
 * Each concept has its own folder (see README: "Library layout").
 */
export * from './backend/index';
export * from './util/index';
export * from './data/index';
export * from './eval/index';
export * from './scores/index';
export * from './retrieval/index';
export * from './tokenize/index';
export * from './models/index';
export * from './losses/index';
export * from './train/index';
