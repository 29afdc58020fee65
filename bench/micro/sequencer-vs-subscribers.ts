// The sequencer's cost per event must not depend on the number of subscribers: it numbers, encodes
// and batches in the main thread and posts each sealed batch to the shards, which fan out on their
// own threads. Measured as the server is wired with SHARDS=1: a worker thread holding a Hub with N
// subscribers (that only count bytes) receives every batch, and the main thread's time per event is
// compared for N = 0, 1,000 and 10,000. Samples are the main thread's own CPU time (schedstat): on two
// cores the shard thread competes with it for a core, and wall time would charge that to the sequencer.
import { Worker } from 'node:worker_threads';
import type { SharedBatch } from '../../src/sequencing/batch-layout.js';
import type { PublishItem } from '../../src/intake/publish-request.js';
import { Batcher } from '../../src/sequencing/batcher.js';
import { LocalSequencer } from '../../src/sequencing/local-sequencer.js';
import { SharedSequence } from '../../src/sequencing/shared-sequence.js';
import { benchModule } from '../processes.js';
import { payloadOf, type MicroTask } from './micro-task.js';

export const SUBSCRIBER_COUNTS = [0, 1_000, 10_000];
/**
 * 64 batches (several ms) per sample: the kernel brings a running thread's CPU clock up to date at
 * scheduler ticks, so a sample must span several ticks, and the /proc read (a few µs) is then noise.
 */
const EVENTS_PER_CALL = 16_384;

export async function sequencerVsSubscribersTasks(): Promise<{ tasks: MicroTask[]; close: () => Promise<void> }> {
  const workers: Worker[] = [];
  const tasks: MicroTask[] = [];
  const items: PublishItem[] = [{ topic: 'bench', data: payloadOf(128) }];
  for (const n of SUBSCRIBER_COUNTS) {
    const worker = new Worker(benchModule('./micro/shard-stand-in.js'), { workerData: { subscribers: n } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    workers.push(worker);
    const batcher = new Batcher('0123456789ab', 256, 2, (batch: SharedBatch) => worker.postMessage(batch));
    const sequencer = new LocalSequencer(new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8))), '0123456789ab', (run) => batcher.appendRun(run));
    const settle = (): Promise<void> =>
      new Promise((resolve) => {
        worker.once('message', () => resolve());
        worker.postMessage({ type: 'settle' });
      });
    tasks.push({
      group: 'batcher',
      name: `LocalSequencer.assign in the main thread, 1 shard thread fanning out to ${n.toLocaleString('en-US')} subscribers`,
      ops: EVENTS_PER_CALL,
      unit: 'event',
      clock: 'main-thread-cpu',
      settle,
      fn: () => {
        for (let i = 0; i < EVENTS_PER_CALL; i++) sequencer.assign(items);
      },
    });
  }
  return {
    tasks,
    close: async () => {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
