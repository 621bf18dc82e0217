export * from './topk';
export * from './index-store';
export * from './io';
export { closeSearchWorkers, searchWorkerCount } from './search-pool';
