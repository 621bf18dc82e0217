export * from './atomic';
export * from './progress';
export * from './numeric';
export * from './json';
export * from './errors';
