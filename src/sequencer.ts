// The one place where events get their ids: assigns the next sequence number, encodes the event to
// SSE bytes once, and collects events into shared batches. Its cost per event does not depend on
// how many subscribers there are.
//
// Batching is leading-edge: after a quiet period the first event leaves on the next tick (with
// whatever else arrived in that tick); after that, at most one batch leaves per BATCH_MS unless
// BATCH_SIZE fills first. A lone event is never held back, and a busy stream still gets the fewer,
// larger writes that cut fan-out cost. No event waits longer than BATCH_MS.
import { BatchBuilder, type SharedBatch } from './event-batch.js';
import { formatId } from './event-ids.js';
import type { PublishItem } from './publish-request.js';
import { encodeEvent } from './sse-encoding.js';

export class Sequencer {
  private seq = 0;
  private readonly builder = new BatchBuilder();
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastFlushAt = -Infinity; // ms, performance.now()

  constructor(
    public epoch: string,
    private readonly batchSize: number,
    private readonly batchMs: number,
    private readonly emit: (batch: SharedBatch) => void,
  ) {}

  get lastSeq(): number {
    return this.seq;
  }

  /** Sequences events published on this server; answers with their ids, before fan-out. */
  publish(items: readonly PublishItem[]): string[] {
    return items.map((item) => this.append(++this.seq, item));
  }

  /** Cluster mode: an event sequenced by Redis, in stream order. A new epoch starts a new batch. */
  appendLogged(epoch: string, seq: number, item: PublishItem): void {
    if (epoch !== this.epoch) {
      this.flush();
      this.epoch = epoch;
    }
    this.append(seq, item);
  }

  private append(seq: number, item: PublishItem): string {
    this.seq = seq;
    const id = formatId(this.epoch, seq);
    const bytes = item.event === undefined ? encodeEvent({ id, data: item.data }) : encodeEvent({ id, event: item.event, data: item.data });
    this.builder.add(seq, item.topic, bytes);
    if (this.builder.size >= this.batchSize) this.flush();
    else if (this.timer === undefined) {
      const wait = this.lastFlushAt + this.batchMs - performance.now();
      this.timer = wait <= 0 ? setImmediate(() => this.flush()) : setTimeout(() => this.flush(), wait);
    }
    return id;
  }

  /** Seals the current batch now (also used before shutdown so nothing accepted stays unsent). */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    if (this.builder.size === 0) return;
    this.lastFlushAt = performance.now();
    this.emit(this.builder.seal(this.epoch));
  }
}
