export * from './contrastive';
export * from './distillation';
export * from './mlm';
export { groupScores } from './embedding-scores';
export * from './explain';
