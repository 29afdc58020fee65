// The replay ring: the last HISTORY_SIZE events, all topics together, holding views into the batches'
// shared bytes (no copy). Sequence numbers in the ring are consecutive, so lookup is arithmetic.
import type { EventBatch } from './event-batch.js';
import { eventBytes, lastSeqOf } from './event-batch.js';
import { parseId } from './event-ids.js';
import type { ResetReason } from './sse-encoding.js';

export interface ResumePlan {
  /** retained events after the client's id on its topics, in order */
  events: Uint8Array[];
  /** the last sequence number the client will have seen once `events` are written */
  lastSeq: number;
  reset?: ResetReason;
}

/** How far (events) a client's id may be ahead of this history and still be taken as lag, not garbage. */
export const MAX_LAG = 100_000;

export class History {
  private readonly topics: string[];
  private readonly bytes: Uint8Array[];
  private start = 0; // ring index of the oldest event
  private length = 0;
  private firstSeq = 1;
  epoch: string;

  constructor(readonly capacity: number, epoch: string) {
    this.topics = new Array<string>(capacity);
    this.bytes = new Array<Uint8Array>(capacity);
    this.epoch = epoch;
  }

  get size(): number {
    return this.length;
  }

  /** Sequence number of the newest retained event (firstSeq - 1 when empty). */
  get lastSeq(): number {
    return this.firstSeq + this.length - 1;
  }

  append(batch: EventBatch): void {
    if (batch.epoch !== this.epoch || (this.length > 0 && batch.firstSeq !== this.lastSeq + 1)) {
      // A new epoch (or a break in the sequence) starts a new history: old ids must not resolve.
      this.epoch = batch.epoch;
      this.start = 0;
      this.length = 0;
    }
    if (this.length === 0) this.firstSeq = batch.firstSeq;
    for (let i = 0; i < batch.count; i++) {
      const slot = (this.start + this.length) % this.capacity;
      this.topics[slot] = batch.topics[batch.topicIndex[i]!]!;
      this.bytes[slot] = eventBytes(batch, i);
      if (this.length < this.capacity) this.length++;
      else {
        this.start = (this.start + 1) % this.capacity;
        this.firstSeq++;
      }
    }
    if (this.length > 0 && this.lastSeq !== lastSeqOf(batch)) throw new Error('history out of step with its batches');
  }

  /** What a client resuming after `lastEventId` needs: a replay, or a reset when the id cannot be resumed. */
  resume(lastEventId: string | undefined, topics: ReadonlySet<string>): ResumePlan {
    const live = { events: [], lastSeq: this.lastSeq };
    if (lastEventId === undefined) return live;
    const id = parseId(lastEventId);
    if (id === undefined) return { ...live, reset: 'history' };
    if (id.epoch !== this.epoch) return { ...live, reset: 'epoch' };
    // Slightly ahead: the client came from a shard (or a server) further along than this one. Nothing
    // to replay; it must only skip what it already has when that arrives here. Far ahead is not ours.
    if (id.seq > this.lastSeq) return id.seq - this.lastSeq <= MAX_LAG ? { events: [], lastSeq: id.seq } : { ...live, reset: 'history' };
    if (id.seq < this.firstSeq - 1) return { ...live, reset: 'history' };
    const events: Uint8Array[] = [];
    for (let seq = id.seq + 1; seq <= this.lastSeq; seq++) {
      const slot = (this.start + (seq - this.firstSeq)) % this.capacity;
      if (topics.has(this.topics[slot]!)) events.push(this.bytes[slot]!);
    }
    return { events, lastSeq: this.lastSeq };
  }
}
