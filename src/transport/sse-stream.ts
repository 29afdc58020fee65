// One SSE connection over a uWS HttpResponse. What may be written, and when a slow consumer is
// dropped or closed, is the WriteQueue's call; this file keeps the uWS rules:
// - every write outside a uWS callback is corked, and a response gets at most one corked write per
//   tick (several cork() calls writing to one backpressured response corrupt the chunked framing,
//   uWebSockets.js issue 1249);
// - once a write reports backpressure nothing more is handed to uWS until onWritable;
// - while an onWritable handler is registered uWS does not flush its own buffer unless we write, so
//   onWritable always writes something (an empty comment when nothing waits).
import type { HttpResponse } from 'uWebSockets.js';
import type { GzipEncoder } from '../fanout/gzip-group.js';
import type { ReplaySource } from '../fanout/replay.js';
import type { Stream } from '../fanout/shard.js';
import type { Group } from '../fanout/pass.js';
import { WriteQueue, type WriteQueueLimits, type WriteQueueStats } from '../fanout/write-queue.js';
import { encodeComment } from '../sequencing/sse-encoding.js';
import { SHARD_SLOT, type ShardCounters } from '../threads/shared-counters.js';

const HEARTBEAT = encodeComment();
/**
 * A replay is written in chunks of about this many bytes (64 KiB), at most a quarter of
 * MAX_BACKPRESSURE: what is in flight of it counts against the bound of live events queued behind it.
 */
const REPLAY_CHUNK_BYTES = 65_536;
/** At most this much of a replay (1 MiB) is written per event-loop turn: a reader as fast as the server does not hold up the shard's other work. */
const REPLAY_TURN_BYTES = 1_048_576;

/**
 * The write queues' counters, one object per shard, not three closures per stream: with 100,000
 * streams held, what a stream keeps for its whole life is most of the server's memory per connection.
 */
const STATS = new WeakMap<ShardCounters, WriteQueueStats>();

function queueStats(counters: ShardCounters): WriteQueueStats {
  let stats = STATS.get(counters);
  if (stats === undefined) {
    stats = {
      dropped: (events) => counters.add(SHARD_SLOT.SLOW_DROPPED, events),
      resetSent: () => counters.add(SHARD_SLOT.RESETS),
      queued(before, now) {
        counters.add(SHARD_SLOT.QUEUED_BYTES, now - before);
        if (now > counters.get(SHARD_SLOT.QUEUED_BYTES_PEAK)) counters.set(SHARD_SLOT.QUEUED_BYTES_PEAK, now);
      },
    };
    STATS.set(counters, stats);
  }
  return stats;
}

/** The stream whose write the corked callback makes: cork runs it at once, so one module-wide callback serves every stream. */
let writing: SseStream | undefined;
const corkedWrite = (): void => writing!.corkedWrite();

/** What a stream holds from admission on (its connection slots), given back once when it closes. */
export interface Releasable {
  release(): void;
}

export class SseStream implements Stream {
  lastSeq = 0;
  closed = false;
  readonly wholePasses: boolean;
  hubGroup: Group | undefined = undefined;
  /** no write since the last heartbeat sweep */
  private idle = true;
  private readonly queue: WriteQueue;
  private onClosed: ((stream: SseStream) => void) | undefined;
  /** the rest of the resume's replay, written as the socket takes it, before anything live */
  private replay: ReplaySource | undefined;
  private readonly replayChunk: number;
  /** onWritable is registered at the first refused write: most streams never meet backpressure */
  private awaitsWritable = false;

  constructor(
    private readonly res: HttpResponse,
    readonly topics: readonly string[],
    limits: WriteQueueLimits,
    private readonly counters: ShardCounters,
    /** gzip: every byte goes through it, from the header in open() to the trailer in end() */
    private readonly gzip: GzipEncoder | undefined,
    private readonly held: Releasable,
  ) {
    this.wholePasses = gzip !== undefined;
    this.replayChunk = Math.max(1, Math.min(REPLAY_CHUNK_BYTES, limits.maxBackpressure >> 2));
    this.queue = new WriteQueue(limits, queueStats(counters), gzip);
    res.onAborted(() => this.aborted());
  }

  /**
   * Called once when the stream ends, whoever ended it, before what it held is given back: one
   * function for every stream of a handler, not a closure each.
   */
  whenClosed(fn: (stream: SseStream) => void): void {
    this.onClosed = fn;
  }

  send(bytes: Uint8Array, events: number): void {
    if (this.closed) return;
    this.idle = false;
    const verdict = this.queue.offer(bytes, events);
    if (verdict === 'disconnect') return this.disconnectSlow();
    if (verdict === 'skipped') return;
    this.counters.add(SHARD_SLOT.DELIVERIES, events);
    this.counters.add(SHARD_SLOT.BYTES_SENT, this.queue.lastWireLength);
    this.counters.add(SHARD_SLOT.BYTES_SENT_UNCOMPRESSED, bytes.length);
    if (verdict !== 'queued') this.write(verdict);
  }

  /** Heartbeat sweep: a comment for a connection that had no write since the previous sweep. */
  heartbeat(): boolean {
    const due = this.idle && !this.queue.blocked && !this.closed;
    this.idle = true;
    if (due) this.write(this.queue.encode(HEARTBEAT));
    return due;
  }

  /**
   * The first write of a stream, made inside a corked callback: `head`, then the replay as the
   * socket takes it (here, then in onWritable); live events wait behind it. Replay writes are not
   * bounded: a replay larger than the bound would otherwise close the client on every reconnect.
   */
  open(head: Uint8Array, replay?: ReplaySource): void {
    this.idle = false;
    const first = replay?.next(this.replayChunk);
    if (replay !== undefined && !replay.done) {
      this.replay = replay;
      this.queue.hold();
    }
    const raw = first === undefined ? head : Buffer.concat([head, first]);
    if (this.flush(this.gzip?.open(raw) ?? raw) && this.replay !== undefined) this.pump(false);
  }

  /** Server-side end: a clean end of the chunked stream when possible, else an abrupt close. */
  end(): void {
    if (this.closed) return;
    const res = this.res;
    const blocked = this.queue.blocked;
    // gzip: a clean end is a complete member (final block, CRC-32, length), which strict decoders require
    const trailer = blocked ? undefined : this.gzip?.trailer();
    this.finish();
    if (blocked) res.close();
    else res.cork(() => (trailer === undefined ? res.end() : res.end(trailer)));
  }

  /** The client went away (uWS onAborted): the response must not be touched again. */
  aborted(): void {
    this.finish();
  }

  // The fan-out hot path: one callback for every stream (corkedWrite above), not a closure per write.
  private toWrite: Uint8Array = HEARTBEAT;
  private wrote = false;

  /** Inside res.cork() only (see `writing`). */
  corkedWrite(): void {
    this.wrote = this.res.write(this.toWrite);
  }

  private write(bytes: Uint8Array): void {
    this.toWrite = bytes;
    const outer = writing; // never nested today, but a callback inside write() must not see another stream
    writing = this;
    this.res.cork(corkedWrite);
    writing = outer;
    this.toWrite = HEARTBEAT; // do not pin a batch buffer
    if (!this.wrote) this.awaitWritable();
    if (this.queue.written(bytes.length, this.wrote, true) === 'disconnect') this.disconnectSlow();
  }

  /**
   * uWS calls back once the socket drains only if a handler is registered; registering it for every
   * stream up front cost each a closure, a V8 handle and a C++ function held for its whole life.
   */
  private awaitWritable(): void {
    if (this.awaitsWritable) return;
    this.awaitsWritable = true;
    this.res.onWritable(() => this.writable());
  }

  /** SLOW_CONSUMER=disconnect: the client reconnects with Last-Event-ID and resumes from history. */
  private disconnectSlow(): void {
    this.counters.add(SHARD_SLOT.SLOW_DISCONNECTED);
    const res = this.res;
    this.finish();
    res.close();
  }

  /** uWS: the socket is writable again. Something must be written (see the top of this file). */
  private writable(): boolean {
    if (this.closed) return true;
    return this.replay !== undefined ? this.pump(true) : this.flushQueued(true);
  }

  /**
   * Writes the replay while the socket takes it, REPLAY_TURN_BYTES per turn; once it is out, what
   * waited behind it. A replay that met backpressure goes on in onWritable, one that used up its
   * turn goes on in the next.
   */
  private pump(mustWrite: boolean): boolean {
    const replay = this.replay!;
    this.idle = false;
    let budget = REPLAY_TURN_BYTES;
    for (let chunk = replay.next(this.replayChunk); chunk !== undefined; chunk = replay.next(this.replayChunk)) {
      mustWrite = false;
      if (!this.flush(this.queue.encode(chunk))) return false;
      budget -= chunk.length;
      if (budget <= 0 && !replay.done) {
        setImmediate(() => this.nextTurn()); // a closure per long replay's turn, not one per stream
        return true;
      }
    }
    this.replay = undefined;
    this.queue.release();
    return this.flushQueued(mustWrite);
  }

  private nextTurn(): void {
    // a socket that refused a write is only written to from onWritable
    if (!this.closed && this.replay !== undefined && !this.queue.blocked) this.res.cork(() => this.pump(false));
  }

  /** What the queue holds, or with `mustWrite` a heartbeat when it holds nothing. */
  private flushQueued(mustWrite: boolean): boolean {
    const queued = this.queue.take() ?? (mustWrite ? this.queue.encode(HEARTBEAT) : undefined);
    if (queued !== undefined && !this.flush(queued)) return false;
    // Caught up: a drop period's reset frame that did not fit before goes now, not with the next event.
    const reset = this.queue.take();
    return reset === undefined || this.flush(reset);
  }

  private flush(chunk: Uint8Array): boolean {
    const ok = this.res.write(chunk);
    if (!ok) this.awaitWritable();
    this.queue.written(chunk.length, ok, false);
    return ok;
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.replay = undefined;
    this.queue.clear();
    this.gzip?.close();
    // the shard's count first: once the global slot is back (what /healthz reads, from any
    // thread), sse_connections must not still count this stream
    this.onClosed?.(this);
    this.held.release();
  }
}
