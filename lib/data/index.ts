export * from './types';
export { forEachLine } from './lines';
export * from './trec';
export * from './beir';
export * from './qrels';
export * from './manifests/schema';
