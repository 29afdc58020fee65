// A worker thread standing in for a shard in the sequencer micro-benchmark: a Hub with N subscribers
// that count bytes, fed with every batch the main thread posts (as src/shard-worker.ts is). Asked to
// settle, it answers once it has caught up, so that no task is charged for the previous one's backlog.
import { parentPort, workerData } from 'node:worker_threads';
import { batchFromShared, type SharedBatch } from '../../src/sequencing/batch-layout.js';
import { Hub, type Subscriber } from '../../src/fanout/hub.js';

const { subscribers } = workerData as { subscribers: number };
const hub = new Hub(512, { onPass: () => undefined, onSegment: () => undefined });
let bytes = 0;
for (let i = 0; i < subscribers; i++) {
  const sub: Subscriber = {
    topics: ['bench'],
    lastSeq: 0,
    send: (b: Uint8Array) => {
      bytes += b.length;
    },
  };
  hub.add(sub);
}
/** Answers once every batch posted so far has been fanned out: no new bytes for a few loop turns. */
function settle(): void {
  let last = -1;
  let quiet = 0;
  const check = (): void => {
    quiet = bytes === last ? quiet + 1 : 0;
    last = bytes;
    if (quiet >= 3) parentPort!.postMessage({ settled: true, bytes });
    else setTimeout(check, 1);
  };
  check();
}

parentPort!.on('message', (m: SharedBatch | { type: 'settle' }) => {
  if ('buffer' in m) hub.deliver(batchFromShared(m));
  else settle();
});
parentPort!.postMessage({ ready: true, bytes });
