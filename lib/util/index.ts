export * from './atomic';
export * from './progress';
