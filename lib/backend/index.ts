
export * from './select';
export * from './matmul';
export * from './gflops';
