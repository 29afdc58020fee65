// What every shard holds besides its sockets: the replay history and the hub, fed by the batches in
// order, and the rule that a stream resumes without gap or duplicate. The single-process server
// (SHARDS=0) is one such shard in the main thread.
import type { Config } from '../config/config.js';
import { batchFromShared, lastSeqOf, type EventBatch, type SharedBatch } from '../sequencing/batch-layout.js';
import { formatId, parseId } from '../sequencing/event-ids.js';
import { SharedSequence } from '../sequencing/shared-sequence.js';
import { encodeReset } from '../sequencing/sse-encoding.js';
import { timerAt, type LongTimer } from '../threads/long-timer.js';
import { SHARD_SLOT, ShardCounters, type SharedCounters } from '../threads/shared-counters.js';
import { followChain } from '../eventlog/epoch-chain.js';
import { LogIndex, type IndexedRecord } from '../eventlog/log-index.js';
import { DiskReplay } from './disk-replay.js';
import { History } from './history.js';
import { Hub, type Subscriber } from './hub.js';
import { CatchUpWaiters } from './catch-up.js';
import type { ReplaySource } from './replay.js';
import { TopicCounts } from './topic-counts.js';

/** A subscriber the server can end (its token expired). */
export interface Stream extends Subscriber {
  end(): void;
}

/** Longest a stream waits for this shard to reach the position its Last-Event-ID says it has (ms). */
export const CATCH_UP_MS = 2_000;

/** What a joining stream writes before anything live: the reset frame, then the replay. */
export interface Resume {
  /** the reset frame when the id cannot be resumed */
  reset?: Uint8Array;
  replay?: ReplaySource;
}

export class Shard {
  readonly history: History;
  readonly hub: Hub;
  readonly counters: ShardCounters;
  /** streams per topic on this shard: changed here, on subscribe and unsubscribe only, never by fan-out */
  readonly presence = new TopicCounts();
  /** streams that close at their token's exp */
  private readonly expiries = new Map<Stream, LongTimer>();
  /** streams waiting for this shard to catch up with their Last-Event-ID */
  private readonly waiters: CatchUpWaiters;
  /** cluster mode: another server may have given out ids this one has not read yet */
  private readonly clustered: boolean;
  /** the server's sequence, read only: an id past its newest number was never given out here */
  private readonly sequence: SharedSequence;
  /** batches from a break in the sequence on, held until the hub has passed every batch before it */
  private held: EventBatch[] | undefined;
  /** durable log: earlier epochs this one continues (epoch -> last number that survived), see epoch-chain.ts */
  aliases: ReadonlyMap<string, number> = new Map();
  /** durable log: where each retained batch lies on disk, for resumes older than the history's window */
  readonly disk: LogIndex | undefined;

  constructor(config: Config, readonly index: number, shared: SharedCounters, epoch: string) {
    this.counters = new ShardCounters(shared, index);
    this.history = new History(config.historyMemorySize, epoch);
    this.clustered = config.redisUrl !== undefined;
    this.sequence = new SharedSequence(shared.position);
    if (config.dataDir !== undefined) {
      const disk = (this.disk = new LogIndex(config.dataDir));
      const history = this.history;
      history.older = (afterSeq, untilSeq, topics, then, onReplayed) => {
        const records = disk.plan(afterSeq, untilSeq, topics);
        return records && new DiskReplay(records, afterSeq, untilSeq, topics, (r) => disk.read(r), history.epoch, then, onReplayed);
      };
    }
    const counters = this.counters;
    this.waiters = new CatchUpWaiters((size) => counters.set(SHARD_SLOT.RESUME_WAITERS, size));
    this.hub = new Hub(config.segmentSize, {
      onPass(events) {
        counters.add(SHARD_SLOT.FANOUT_PASSES);
        counters.add(SHARD_SLOT.FANOUT_EVENTS, events);
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
    this.disk?.addStored(shared);
    // Cluster mode, Redis came back empty: old positions mean nothing now. Epoch changes happen
    // while nothing flows (the log was down), so no older batch is still waiting for its pass.
    // The reset carries the position just before the new epoch's first event, so a reconnect replays it.
    const afterLoss = batch.epoch === this.history.epoch && batch.firstSeq > this.history.lastSeq + 1;
    if (batch.epoch !== this.history.epoch) {
      this.hub.restart(encodeReset('epoch', formatId(batch.epoch, batch.firstSeq - 1)));
      this.waiters.releaseAll(); // their ids are of the old epoch: a reset, now
    }
    this.history.append(batch);
    if (afterLoss || this.held !== undefined) this.hold(batch);
    else this.hub.deliver(batch);
    this.waiters.reached(this.history.lastSeq);
  }

  /**
   * Numbers lost for good (a shard died holding them) leave a break before a batch: each stream gets
   * a reset in their place, once it has every event before them, then goes on after them.
   */
  private hold(batch: EventBatch): void {
    if (this.held !== undefined) return void this.held.push(batch);
    this.held = [batch];
    this.hub.whenIdle(() => this.releaseHeld());
  }

  private releaseHeld(): void {
    const [first, ...rest] = this.held!;
    this.held = undefined;
    const lost = first!.firstSeq - 1;
    this.counters.add(SHARD_SLOT.RESETS, this.hub.skipTo(lost, encodeReset('dropped', formatId(first!.epoch, lost))));
    this.hub.deliver(first!);
    let last = lastSeqOf(first!);
    for (const batch of rest) {
      if (this.held !== undefined || batch.firstSeq > last + 1) this.hold(batch);
      else this.hub.deliver(batch);
      last = lastSeqOf(batch);
    }
  }

  /**
   * A Last-Event-ID ahead of this shard's history: another shard (batches in flight) or, in cluster
   * mode, another server has got further. Calls `ready` once this shard has caught up, or after
   * CATCH_UP_MS (subscribe then answers a reset), and returns how to stop waiting (the client went
   * away); undefined when there is nothing to wait for. An id past everything this server has
   * sequenced (one server) was never given out: no wait, a reset.
   */
  catchUp(lastEventId: string | undefined, ready: () => void): (() => void) | undefined {
    const id = parseId(followChain(lastEventId, this.aliases, this.history.epoch));
    if (id === undefined || id.epoch !== this.history.epoch || id.seq <= this.history.lastSeq) return undefined;
    if (!this.clustered && id.seq > this.sequence.last) return undefined;
    return this.waiters.wait(id.seq, CATCH_UP_MS, ready);
  }

  /** A new (or replacement) shard starts with the retained history (and where the log holds it on disk), so resumes work on it too. */
  seed(batches: readonly SharedBatch[], stored: readonly IndexedRecord[] = []): void {
    for (const b of batches) this.history.append(batchFromShared(b));
    for (const r of stored) this.disk?.add(r);
  }

  /**
   * Joins a stream that has everything up to `lastEventId` (undefined: a new stream). Returns what
   * must be written before anything live: the retained events it missed (a replay, read in chunks),
   * or a reset frame and its new position when the id cannot be resumed. Planning the replay and
   * joining the hub are one synchronous step, so no batch falls between them; the hub skips what
   * the replay holds. `expiresAt` (ms since the epoch, from the token) ends the stream then.
   */
  subscribe(sub: Stream, lastEventId: string | undefined, expiresAt?: number): Resume {
    const counters = this.counters;
    const plan = this.history.resume(followChain(lastEventId, this.aliases, this.history.epoch), sub.topics, (events) => counters.add(SHARD_SLOT.REPLAYED_EVENTS, events));
    sub.lastSeq = plan.lastSeq;
    const resume: Resume = { replay: plan.replay };
    if (plan.reset !== undefined) {
      // Its id moves the client's Last-Event-ID here (Firefox ignores an id in a block without data),
      // so the next reconnect resumes from here instead of earning another reset.
      resume.reset = encodeReset(plan.reset, formatId(this.history.epoch, plan.lastSeq));
      this.counters.add(SHARD_SLOT.RESETS);
    }
    this.hub.add(sub);
    this.presence.add(sub.topics);
    this.counters.add(SHARD_SLOT.CONNECTIONS);
    if (expiresAt !== undefined) {
      // a device token may be valid for months: more than one setTimeout can wait
      const timer = timerAt(expiresAt, () => {
        this.counters.add(SHARD_SLOT.JWT_EXPIRED);
        sub.end();
      });
      this.expiries.set(sub, timer);
    }
    return resume;
  }

  /** The stream ended, whoever ended it, or it never joined (counted once, whoever ends it how often). */
  unsubscribe(sub: Stream): void {
    this.expiries.get(sub)?.cancel();
    this.expiries.delete(sub);
    if (!this.hub.remove(sub)) return;
    this.presence.remove(sub.topics);
    this.counters.add(SHARD_SLOT.CONNECTIONS, -1);
  }
}
