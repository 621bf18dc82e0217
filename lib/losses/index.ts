export * from './contrastive';
export * from './distillation';
export * from './mlm';
export { pairwiseScores, groupScores } from './embedding-scores';
export * from './explain';
