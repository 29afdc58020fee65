// What every shard holds besides its sockets: the replay history and the hub, fed by the sequencer's
// batches in order. The single-process server (SHARDS=0) is one such shard in the main thread.
import type { Config } from './config.js';
import { batchFromShared, type SharedBatch } from './event-batch.js';
import { History } from './history.js';
import { Hub } from './hub.js';
import type { PublishItem } from './publish-request.js';
import { SHARD_SLOT, ShardCounters, type SharedCounters } from './shared-counters.js';
import { encodeReset } from './sse-encoding.js';

const RESET_EPOCH = encodeReset('epoch');

/** What a shard asks of the thread that sequences events. */
export interface Backend {
  /** resolves with the ids once the events are sequenced (not once they are delivered) */
  publish(items: PublishItem[], receivedAt: number): Promise<string[]>;
  metricsText(): Promise<string>;
}

export class Shard {
  readonly history: History;
  readonly hub: Hub;
  readonly counters: ShardCounters;

  constructor(config: Config, readonly index: number, shared: SharedCounters, epoch: string) {
    this.counters = new ShardCounters(shared, index);
    this.history = new History(config.historySize, epoch);
    const counters = this.counters;
    this.hub = new Hub(config.segmentSize, {
      onPass(events) {
        counters.add(SHARD_SLOT.BATCHES);
        counters.add(SHARD_SLOT.BATCH_EVENTS, events);
      },
      onSegment(seconds) {
        counters.add(SHARD_SLOT.SEGMENTS);
        counters.add(SHARD_SLOT.SEGMENT_SECONDS, seconds);
      },
    });
  }

  /** History first, then fan-out: a stream opened from now on replays this batch and skips it live. */
  receive(shared: SharedBatch): void {
    const batch = batchFromShared(shared);
    // Cluster mode, Redis came back empty: old positions mean nothing now. Epoch changes happen
    // while nothing flows (the log was down), so no older batch is still waiting for its pass.
    if (batch.epoch !== this.history.epoch) this.hub.restart(RESET_EPOCH);
    this.history.append(batch);
    this.hub.deliver(batch);
  }

  /** A new (or replacement) shard starts with the retained history, so resumes work on it too. */
  seed(batches: readonly SharedBatch[]): void {
    for (const b of batches) this.history.append(batchFromShared(b));
  }
}
