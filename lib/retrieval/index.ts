export * from './f16';
export * from './topk';
export * from './index-store';
export * from './io';
