// The replay ring (src/history.ts): append on every batch in every shard, resume on every reconnect.
import { BatchBuilder, batchFromShared, type EventBatch } from '../../src/sequencing/batch-layout.js';
import { formatId } from '../../src/sequencing/event-ids.js';
import { History } from '../../src/fanout/history.js';
import type { ReplaySource } from '../../src/fanout/replay.js';
import { encodeEvent } from '../../src/sequencing/sse-encoding.js';
import { payloadOf, type MicroTask } from './micro-task.js';

const EPOCH = '0123456789ab';
const TOPICS = Array.from({ length: 10 }, (_, i) => `topic-${i}`);

/** A sealed batch of `count` 128 B events spread over 10 topics, starting at seq 1. */
export function batchTemplate(count: number, topics = TOPICS): EventBatch {
  const b = new BatchBuilder();
  const data = payloadOf(128);
  for (let seq = 1; seq <= count; seq++) b.add(seq, topics[seq % topics.length]!, encodeEvent({ id: formatId(EPOCH, seq), data }));
  return batchFromShared(b.seal(EPOCH));
}

/** The same bytes as `template`, renumbered to start at `firstSeq` (history and hub only look at seq). */
export function renumbered(template: EventBatch, firstSeq: number): EventBatch {
  return { ...template, firstSeq };
}

/** A replay read to its end in the chunks a stream writes (64 KiB). */
function readAll(replay: ReplaySource | undefined): void {
  while (replay?.next(65_536) !== undefined);
}

export function historyTasks(): MicroTask[] {
  const template = batchTemplate(256);
  const appendRing = new History(10_000, EPOCH);
  let next = 1;

  const full = new History(10_000, EPOCH);
  for (let seq = 1; seq <= 10_000; seq += 256) full.append(renumbered(template, seq));
  const last = full.lastSeq;
  const one = [TOPICS[3]!];
  return [
    {
      group: 'history',
      name: 'History.append, batches of 256 events',
      ops: 256,
      unit: 'event',
      fn: () => {
        appendRing.append(renumbered(template, next));
        next += 256;
      },
    },
    {
      group: 'history',
      name: 'History.resume, 100 events back, 1 of 10 topics',
      ops: 1,
      unit: 'resume',
      fn: () => readAll(full.resume(formatId(EPOCH, last - 100), one).replay),
    },
    {
      group: 'history',
      name: 'History.resume, the whole ring (10,000 events), 1 of 10 topics',
      ops: 1,
      unit: 'resume',
      fn: () => readAll(full.resume(formatId(EPOCH, full.lastSeq - full.size), one).replay),
    },
  ];
}
