export * from './config';
export * from '../data/training';
export * from './sampling';
export * from './optim';
export * from './gradcache';
export * from './tasks';
export * from './run';
export * from './checkpoint';
export * from './gradcheck';
export * from './examples';
export * from '../data/synthetic';
export { type Transport, LocalTransport } from './devices/transport';
export { SharedMemoryTransport } from './devices/shared-memory';
export { trainOnDevices, probeOnDevices } from './devices/pool';
export { type TrainModel, buildModel } from './model-factory';

export * from './sweep';
export * from './launch';
