export * from './atomic';
export * from './progress';
export * from './numeric';
