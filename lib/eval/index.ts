export * from './metrics';
export { planMeasures, splitMeasureList, MEASURES, NICKNAMES } from './measures';
export type { MeasureDef, MeasureInstance, MeasurePlan, AtKMeasure, Summary } from './measures';
export { formResRels, RELVALUE_NONPOOL, RELVALUE_UNJUDGED } from './metrics-rels';
export type { ResRels, RelsOptions } from './metrics-rels';
export { formatFixed } from './metrics-format';
export * from './evaluator';
