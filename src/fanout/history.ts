// The replay window: the last HISTORY_SIZE events, all topics together, kept as the batches that hold
// them (views into their shared bytes, no copy). Each shard resumes clients from it; the pool keeps
// one too, to seed a replacement shard. Sequence numbers are consecutive, so a lookup is a binary
// search over batches, then arithmetic.
import { eventBytes, lastSeqOf, type EventBatch } from '../sequencing/batch-layout.js';
import { parseId } from '../sequencing/event-ids.js';
import type { ResetReason } from '../sequencing/sse-encoding.js';
import { Replay, type ReplaySource } from './replay.js';

/**
 * A replay of the events after `afterSeq` up to `untilSeq` (older than the window) followed by
 * `then`; undefined when they are not held anywhere (a reset). The durable log's, see disk-replay.ts.
 */
export type OlderReplay = (afterSeq: number, untilSeq: number, topics: ReadonlySet<string>, then: ReplaySource, onReplayed?: (events: number) => void) => ReplaySource | undefined;

export interface ResumePlan {
  /** the retained events after the client's id on its topics, in order, read as the socket takes them */
  replay?: ReplaySource;
  /** the last sequence number the client will have seen once the replay is written */
  lastSeq: number;
  reset?: ResetReason;
}

export class History {
  /** oldest first from `start`; the first batch may start before the window */
  private held: EventBatch[] = [];
  private start = 0;
  private firstSeq = 1;
  private newestSeq = 0;
  epoch: string;
  /** where events older than the window are still held (the durable log); unset: they are not */
  older: OlderReplay | undefined;

  constructor(readonly capacity: number, epoch: string) {
    this.epoch = epoch;
  }

  get size(): number {
    return this.newestSeq - this.firstSeq + 1;
  }

  /** Sequence number of the newest retained event (firstSeq - 1 when empty). */
  get lastSeq(): number {
    return this.newestSeq;
  }

  /** The batches holding the window, oldest first. */
  get batches(): readonly EventBatch[] {
    return this.held.slice(this.start);
  }

  append(batch: EventBatch): void {
    const empty = this.start === this.held.length;
    if (batch.epoch !== this.epoch || (!empty && batch.firstSeq !== this.newestSeq + 1)) {
      // A new epoch (or a break in the sequence) starts a new history: old ids must not resolve.
      this.epoch = batch.epoch;
      this.held = [];
      this.start = 0;
    }
    if (this.start === this.held.length) this.firstSeq = batch.firstSeq;
    this.held.push(batch);
    this.newestSeq = lastSeqOf(batch);
    this.firstSeq = Math.max(this.firstSeq, this.newestSeq - this.capacity + 1);
    while (lastSeqOf(this.held[this.start]!) < this.firstSeq) this.start++;
    // Compact when half is dead: amortised O(1), where a shift per append would cost O(window).
    if (this.start * 2 > this.held.length) {
      this.held = this.held.slice(this.start);
      this.start = 0;
    }
  }

  /**
   * What a client resuming after `lastEventId` needs: a replay, or a reset when the id cannot be
   * resumed. `onReplayed` is told how many events each chunk of the replay carries.
   */
  resume(lastEventId: string | undefined, topics: readonly string[], onReplayed?: (events: number) => void): ResumePlan {
    const live = { lastSeq: this.lastSeq };
    if (lastEventId === undefined) return live;
    const id = parseId(lastEventId);
    if (id === undefined) return { ...live, reset: 'history' };
    if (id.epoch !== this.epoch) return { ...live, reset: 'epoch' };
    // Ahead of this history: taking it as a position would silently skip every event up to it. The
    // shard first waits (bounded) for a position another shard or server has reached (Shard.catchUp).
    if (id.seq > this.lastSeq) return { ...live, reset: 'history' };
    if (id.seq === this.lastSeq) return live;
    // a replay asks its topics once per event: a Set, built only for a client that resumes
    const wanted = new Set(topics);
    if (id.seq < this.firstSeq - 1) return this.resumeOlder(id.seq, wanted, onReplayed) ?? { ...live, reset: 'history' };
    // `held` up to its present length never changes (append pushes, compaction and a new epoch
    // replace the array): the replay reads it as it is now, without a copy.
    return { replay: new Replay(this.held, this.batchHolding(id.seq + 1), this.held.length, id.seq, wanted, onReplayed), lastSeq: this.lastSeq };
  }

  /** Before the window: the events up to its start come from `older`, then the memory replay from it. */
  private resumeOlder(afterSeq: number, topics: ReadonlySet<string>, onReplayed?: (events: number) => void): ResumePlan | undefined {
    if (this.older === undefined || this.start === this.held.length) return undefined;
    const handover = this.firstSeq - 1;
    const memory = new Replay(this.held, this.batchHolding(this.firstSeq), this.held.length, handover, topics, onReplayed);
    const replay = this.older(afterSeq, handover, topics, memory, onReplayed);
    return replay === undefined ? undefined : { replay, lastSeq: this.lastSeq };
  }

  /**
   * The newest retained event on `topic` (its id, or null) and the event names (`message` for
   * unnamed) of the newest `scan` retained events on it, newest first. Reads the encoded bytes back:
   * an event's first lines are `id:` and, when named, `event:`.
   */
  topicSummary(topic: string, scan = 200): { lastId: string | null; events: string[] } {
    let lastId: string | null = null;
    const names = new Set<string>();
    let seen = 0;
    for (let b = this.held.length - 1; b >= this.start && seen < scan; b--) {
      const batch = this.held[b]!;
      const index = batch.topics.indexOf(topic);
      if (index === -1) continue;
      for (let i = batch.count - 1; i >= 0 && seen < scan; i--) {
        if (batch.topicIndex[i] !== index || batch.firstSeq + i < this.firstSeq) continue;
        seen++;
        const head = headOf(eventBytes(batch, i));
        lastId ??= head.id;
        names.add(head.event);
      }
    }
    return { lastId, events: [...names] };
  }

  /** Index of the batch holding `seq` (the length when `seq` is past the newest). */
  private batchHolding(seq: number): number {
    let lo = this.start;
    let hi = this.held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (lastSeqOf(this.held[mid]!) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

const utf8 = new TextDecoder('utf-8');

/** The id and event name of one encoded event (see sse-encoding: `id: X\n` then `event: N\n` when named). */
function headOf(bytes: Uint8Array): { id: string | null; event: string } {
  const text = utf8.decode(bytes.subarray(0, Math.min(bytes.length, 1024)));
  const id = /^id: ([^\n]*)\n/.exec(text);
  const event = /^(?:id: [^\n]*\n)?event: ([^\n]*)\n/.exec(text);
  return { id: id?.[1] ?? null, event: event?.[1] ?? 'message' };
}
