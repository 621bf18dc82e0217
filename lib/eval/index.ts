export * from './trec/evaluate';
export { planMeasures, splitMeasureList } from './trec/measures';
export { formatFixed } from './trec/format';
export * from './evaluator';
export * from './correlation';
export * from './objectives';
