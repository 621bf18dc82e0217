/** One encoding worker thread (see parallel-encode.ts): loads the model, encodes its shard, posts the arrays. */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend/index';
import type { Role } from '../tokenize/types';
import { loadEncoder } from './engine';

interface Job {
  modelDir: string;
  texts: string[];
  role: Role;
  batchSize: number;
}

async function run(): Promise<void> {
  const job = workerData as Job;
  await initBackend();
  const model = await loadEncoder(job.modelDir, { engine: 'tfjs' });
  const enc = await model.encode(job.texts, job.role, {
    batchSize: job.batchSize,
    onProgress: (done) => parentPort!.postMessage({ type: 'progress', done }),
  });
  const embeddings = enc.embeddings.dataSync() as Float32Array;
  const mask = enc.mask ? (enc.mask.dataSync() as Float32Array) : undefined;
  const message = { type: 'done', kind: enc.kind, dim: model.dim, shape: enc.embeddings.shape, embeddings, mask };
  parentPort!.postMessage(message, [embeddings.buffer, ...(mask ? [mask.buffer] : [])] as ArrayBuffer[]);
  model.dispose();
}

run().catch((e: Error) => parentPort!.postMessage({ type: 'error', name: e.name, message: e.message }));
