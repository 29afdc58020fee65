// The batcher: BatchBuilder (src/sequencing/batch-layout.ts), the Batcher and the LocalSequencer
// (src/sequencing/) that number, encode and batch every published event in the main thread. Its cost per event cannot depend on
// the number of subscribers: it never sees them (fan-out runs in the shards); the fan-out scenarios
// check the same thing end to end with the main thread's CPU per event at 1,000 and 10,000 streams.
import { MessageChannel } from 'node:worker_threads';
import { BatchBuilder, type SharedBatch } from '../../src/sequencing/batch-layout.js';
import { formatId } from '../../src/sequencing/event-ids.js';
import type { PublishItem } from '../../src/intake/publish-request.js';
import { Batcher } from '../../src/sequencing/batcher.js';
import { LocalSequencer } from '../../src/sequencing/local-sequencer.js';
import { SharedSequence } from '../../src/sequencing/shared-sequence.js';
import { encodeEvent } from '../../src/sequencing/sse-encoding.js';
import { payloadOf, type MicroTask } from './micro-task.js';

export function batcherTasks(): { tasks: MicroTask[]; close: () => void } {
  const bytes = encodeEvent({ id: formatId('0123456789ab', 1), data: payloadOf(128) });
  const builder = new BatchBuilder();
  let seq = 0;

  const item: PublishItem = { topic: 'bench', data: payloadOf(128) };
  const items = [item];
  let sealed = 0;
  const nowhere = new Batcher('0123456789ab', 256, 2, () => void sealed++);
  const toNowhere = new LocalSequencer(new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8))), '0123456789ab', (run) => nowhere.appendRun(run));

  // SHARDS=2: each sealed batch is posted to two workers (here, two ports nobody reads; closed at the end)
  const channels = [new MessageChannel(), new MessageChannel()];
  const shards = new Batcher('0123456789ab', 256, 2, (batch: SharedBatch) => {
    for (const c of channels) c.port1.postMessage({ type: 'batch', batch });
  });
  const toShards = new LocalSequencer(new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8))), '0123456789ab', (run) => shards.appendRun(run));

  return {
    tasks: [
      {
        group: 'batcher',
        name: 'BatchBuilder.add + seal, 256 events per batch',
        ops: 256,
        unit: 'event',
        fn: () => {
          for (let i = 0; i < 256; i++) builder.add(++seq, 'bench', bytes);
          builder.seal('0123456789ab');
        },
      },
      {
        group: 'batcher',
        name: 'LocalSequencer.assign (number + encode + batch), 256 per batch',
        ops: 256,
        unit: 'event',
        fn: () => {
          for (let i = 0; i < 256; i++) toNowhere.assign(items);
        },
      },
      {
        group: 'batcher',
        name: 'LocalSequencer.assign + postMessage of each batch to 2 shards',
        ops: 256,
        unit: 'event',
        fn: () => {
          for (let i = 0; i < 256; i++) toShards.assign(items);
        },
      },
    ],
    close: () => {
      nowhere.flush();
      shards.flush();
      for (const c of channels) {
        c.port1.close();
        c.port2.close();
      }
    },
  };
}
