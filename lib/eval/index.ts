export * from './trec/evaluate';
export { planMeasures, splitMeasureList, MEASURES, NICKNAMES } from './trec/measures';
export type { MeasureDef, MeasureInstance, MeasurePlan, AtKMeasure, Summary } from './trec/measures';
export { formResRels, RELVALUE_NONPOOL, RELVALUE_UNJUDGED } from './trec/res-rels';
export type { ResRels, RelsOptions } from './trec/res-rels';
export { formatFixed } from './trec/format';
export * from './evaluator';
export * from './correlation';
export * from './objectives';
