/**
 * colbert-zero-workbook: the public API. Notebooks, the CLI and tests import from here.
 * Each concept has its own folder (see README: "Library layout").
 */
export * from './backend';
export * from './util';
export * from './data';
export * from './eval';
export * from './scores';
export * from './retrieval';
export * from './tokenize';
export * from './models';
export * from './losses';
export * from './train';
