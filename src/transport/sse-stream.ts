// One SSE connection over a uWS HttpResponse, with bounded backpressure.
//
// uWS rules kept here: every write outside a uWS callback is corked, and a response gets at most one
// corked write per tick (several cork() calls writing to one backpressured response corrupt the
// chunked framing, uWebSockets.js issue 1249). Once a write reports backpressure nothing more is
// handed to uWS until onWritable: bytes wait in our own queue, which we can count.
//
// uWS cannot tell how much of its own buffer is unsent, and a corked write reports backpressure only
// on the next write. So we count, as still queued, everything handed to uWS since the last write that
// went through: a conservative bound that the real memory use never exceeds.
import type { HttpResponse } from 'uWebSockets.js';
import type { SlowConsumerPolicy } from '../config.js';
import type { Subscriber } from '../hub.js';
import { SHARD_SLOT, type ShardCounters } from '../shared-counters.js';
import { encodeComment, encodeReset } from '../sse-encoding.js';

const HEARTBEAT = encodeComment();
const RESET_DROPPED = encodeReset('dropped');

export interface StreamLimits {
  maxBackpressure: number;
  slowConsumer: SlowConsumerPolicy;
}

export class SseStream implements Subscriber {
  lastSeq = 0;
  closed = false;
  /** no write since the last heartbeat sweep */
  private idle = true;
  private queue: Uint8Array[] = [];
  private queued = 0;
  /** upper bound of bytes uWS may still hold for us */
  private handedToUws = 0;
  private accounted = 0;
  private blocked = false;
  private dropping = false;
  private onClosed: (() => void) | undefined;

  constructor(
    private readonly res: HttpResponse,
    readonly topics: ReadonlySet<string>,
    private readonly limits: StreamLimits,
    private readonly counters: ShardCounters,
  ) {
    res.onWritable(() => this.drain());
  }

  /** Called once when the stream ends, whoever ended it. */
  whenClosed(fn: () => void): void {
    this.onClosed = fn;
  }

  send(bytes: Uint8Array, events: number): void {
    if (this.closed) return;
    this.idle = false;
    if (this.dropping) {
      this.counters.add(SHARD_SLOT.SLOW_DROPPED, events);
      return;
    }
    this.counters.add(SHARD_SLOT.DELIVERIES, events);
    this.counters.add(SHARD_SLOT.BYTES_SENT, bytes.length);
    if (this.blocked) this.enqueue(bytes, events);
    else this.write(bytes);
  }

  /** Heartbeat sweep: a comment for a connection that had no write since the previous sweep. */
  heartbeat(): boolean {
    const due = this.idle && !this.blocked && !this.closed;
    this.idle = true;
    if (due) this.write(HEARTBEAT);
    return due;
  }

  /** The first write of a stream, made inside the request handler (already corked by uWS). */
  open(head: Uint8Array): void {
    this.idle = false;
    if (!this.res.write(head)) {
      this.handedToUws = head.length;
      this.blocked = true;
      this.account();
    }
  }

  /** Server-side end: a clean end of the chunked stream when possible, else an abrupt close. */
  end(): void {
    if (this.closed) return;
    const res = this.res;
    this.finish();
    if (this.blocked) res.close();
    else res.cork(() => res.end());
  }

  /** The client went away (uWS onAborted): the response must not be touched again. */
  aborted(): void {
    this.finish();
  }

  // The fan-out hot path: one bound callback per stream, not a closure per write.
  private toWrite: Uint8Array = HEARTBEAT;
  private wrote = false;
  private readonly corkedWrite = (): void => {
    this.wrote = this.res.write(this.toWrite);
  };

  private write(bytes: Uint8Array): void {
    this.toWrite = bytes;
    this.res.cork(this.corkedWrite);
    this.toWrite = HEARTBEAT; // do not pin a batch buffer
    const ok = this.wrote;
    if (ok) {
      // may still sit in uWS after the uncork; the next write would tell
      this.handedToUws = bytes.length;
    } else {
      this.handedToUws += bytes.length;
      this.blocked = true;
    }
    this.account();
    // The bound can be passed by the one write that revealed the backpressure, never by more.
    if (!ok && this.handedToUws > this.limits.maxBackpressure) this.overflow(0);
  }

  private enqueue(bytes: Uint8Array, events: number): void {
    if (this.queued + this.handedToUws + bytes.length > this.limits.maxBackpressure) {
      this.overflow(events);
      return;
    }
    // A copy: a view would pin its whole batch buffer, and the bound must be the real memory.
    this.queue.push(Uint8Array.prototype.slice.call(bytes));
    this.queued += bytes.length;
    this.account();
  }

  private overflow(events: number): void {
    if (this.limits.slowConsumer === 'drop') {
      this.dropping = true;
      this.counters.add(SHARD_SLOT.SLOW_DROPPED, events);
      return;
    }
    this.counters.add(SHARD_SLOT.SLOW_DISCONNECTED);
    const res = this.res;
    this.finish();
    res.close(); // the client reconnects with Last-Event-ID and resumes from history
  }

  /**
   * uWS calls this when the socket is writable again. While a handler is registered uWS does not
   * drain its own buffer unless we write, so something is always written: the queue, the reset frame
   * that ends a drop period, or an empty comment.
   */
  private drain(): boolean {
    if (this.closed) return true;
    const pieces = this.queue;
    if (this.dropping) {
      pieces.push(RESET_DROPPED);
      this.dropping = false;
      this.counters.add(SHARD_SLOT.RESETS);
    }
    const chunk = pieces.length === 0 ? HEARTBEAT : pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    this.queue = [];
    this.queued = 0;
    const ok = this.res.write(chunk);
    if (ok) {
      this.blocked = false;
      this.handedToUws = chunk.length;
    } else {
      this.handedToUws += chunk.length;
    }
    this.account();
    return ok;
  }

  private account(): void {
    const now = this.blocked ? this.queued + this.handedToUws : 0;
    if (now === this.accounted) return;
    this.counters.add(SHARD_SLOT.QUEUED_BYTES, now - this.accounted);
    this.accounted = now;
    if (now > this.counters.get(SHARD_SLOT.QUEUED_BYTES_PEAK)) this.counters.set(SHARD_SLOT.QUEUED_BYTES_PEAK, now);
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queued = 0;
    this.blocked = false;
    this.account();
    this.onClosed?.();
  }
}
