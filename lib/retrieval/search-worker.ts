/** One search worker thread (see search-pool.ts): runs the shards it is sent and says when each is done. */
import { parentPort } from 'node:worker_threads';
import type { SearchTimings } from '../scores/maxsim-blocked';
import { runShard, type ShardJob } from './search-shard';

let tfjsReady: Promise<unknown> | undefined;

parentPort!.on('message', (msg: { id: number; job: ShardJob; timings: boolean }) => {
  void (async () => {
    try {
      // tfjs (and its backend) load only for a tfjs product; require, as the bootstrap registers tsx for CommonJS only.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      if (msg.job.product === 'tfjs') await (tfjsReady ??= (require('../backend/index') as typeof import('../backend/index')).initBackend());
      const timings: SearchTimings | undefined = msg.timings ? { decode: 0, product: 0, segmentMax: 0 } : undefined;
      runShard(msg.job, timings);
      parentPort!.postMessage({ id: msg.id, timings });
    } catch (e) {
      parentPort!.postMessage({ id: msg.id, error: { name: (e as Error).name, message: (e as Error).message } });
    }
  })();
});
