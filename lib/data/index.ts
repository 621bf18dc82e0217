export * from './types';
export { forEachLine, splitWhitespace } from './lines';
export * from './trec';
export * from './beir';
export * from './qrels';
