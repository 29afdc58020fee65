// One subscriber's bounded write queue and its slow-consumer policy, without a socket: the transport
// asks it before each write and reports each write's outcome; it holds what the socket refused,
// counts every byte, and decides when the policy applies. Unit-tested on its own.
//
// The socket layer (uWS) cannot say how much of its own buffer is unsent, and a corked write
// reports backpressure only on the next write. So everything handed to the socket since the last
// write that went through counts as still queued: a conservative bound that the real memory use
// never exceeds. The bound can be passed by the one write that revealed the backpressure, never more.
import type { SlowConsumerPolicy } from '../config/config.js';
import { encodeReset } from '../sequencing/sse-encoding.js';
import type { WireCodec } from './gzip-group.js';

const RESET_DROPPED = encodeReset('dropped');

export interface WriteQueueLimits {
  maxBackpressure: number;
  slowConsumer: SlowConsumerPolicy;
}

export interface WriteQueueStats {
  /** events skipped under SLOW_CONSUMER=drop */
  dropped(events: number): void;
  /** a reset frame ends a drop period */
  resetSent(): void;
  /** the bytes counted as queued for this subscriber changed from `before` to `now` */
  queued(before: number, now: number): void;
}

/** What to do with an event chunk: the bytes to write now, or it was queued, skipped (drop), or the consumer must be closed. */
export type Verdict = Uint8Array | 'queued' | 'skipped' | 'disconnect';

/** Identity: the wire bytes are the bytes. */
const IDENTITY: WireCodec = { encode: (raw) => raw, discard() {} };

export class WriteQueue {
  private pieces: Uint8Array[] = [];
  private pieceBytes = 0;
  /** upper bound of bytes the socket may still hold for us */
  private handedToSocket = 0;
  private accounted = 0;
  private isBlocked = false;
  /** a replay goes first: offers wait behind it, unencoded (see hold) */
  private holding = false;
  private dropping = false;
  /** wire length of the last offer that was not skipped */
  lastWireLength = 0;

  /**
   * `codec` (compression) turns offered bytes into wire bytes as they are accepted, in wire order:
   * the bound counts wire bytes, and a skipped event is never encoded (a compressed stream must not
   * lose a piece the compressor counted on).
   */
  constructor(
    private readonly limits: WriteQueueLimits,
    private readonly stats: WriteQueueStats,
    private readonly codec: WireCodec = IDENTITY,
  ) {}

  /** Bytes written outside offer() (heartbeats), encoded in wire order. */
  encode(raw: Uint8Array): Uint8Array {
    return this.codec.encode(raw);
  }

  /** The socket refused a write and has not asked for more: nothing may be handed to it. */
  get blocked(): boolean {
    return this.isBlocked;
  }

  /**
   * A replay is written before anything offered from now on, until release(). What is offered
   * meanwhile waits under the same bound and policy, kept as given: its wire bytes depend on what
   * goes before them (compression), so it is encoded once the replay is out.
   */
  hold(): void {
    this.holding = true;
  }

  /** The replay is out: what waited behind it is next for take(). */
  release(): void {
    if (!this.holding) return;
    this.holding = false;
    if (this.pieces.length > 0) {
      const wire = this.codec.encode(this.pieces.length === 1 ? this.pieces[0]! : Buffer.concat(this.pieces));
      this.pieces = [wire];
      this.pieceBytes = wire.length;
    }
    this.account();
  }

  /** Bytes counted against MAX_BACKPRESSURE now. */
  get queuedBytes(): number {
    return this.accounted;
  }

  offer(bytes: Uint8Array, events: number): Verdict {
    const waits = this.isBlocked || this.holding;
    if (this.dropping) {
      // A write went through since the drop period began, before the reset could be taken: it ends here.
      if (!waits) return this.endDropPeriod(bytes);
      this.stats.dropped(events);
      return 'skipped';
    }
    if (!waits) return this.wire(bytes);
    const wire = this.holding ? bytes : this.wire(bytes);
    if (this.holding) this.lastWireLength = bytes.length; // before compression: its wire length is not known yet
    if (this.pieceBytes + this.handedToSocket + wire.length > this.limits.maxBackpressure) {
      if (!this.holding) this.codec.discard();
      return this.overflow(events);
    }
    // A copy: a view would pin its whole batch buffer, and the bound must be the real memory.
    this.pieces.push(Uint8Array.prototype.slice.call(wire));
    this.pieceBytes += wire.length;
    this.account();
    return 'queued';
  }

  /**
   * After `length` bytes were handed to the socket; `ok` is what the socket said. With `bounded`, a
   * refused write that passes the bound applies the policy ('disconnect', or a drop period).
   */
  written(length: number, ok: boolean, bounded: boolean): 'ok' | 'disconnect' {
    if (ok) {
      this.isBlocked = false;
      this.handedToSocket = length; // may still sit in the socket's buffer; the next write would tell
    } else {
      this.handedToSocket += length;
      this.isBlocked = true;
    }
    this.account();
    if (bounded && !ok && this.handedToSocket > this.limits.maxBackpressure) return this.overflow(0) === 'disconnect' ? 'disconnect' : 'ok';
    return 'ok';
  }

  /**
   * The socket is writable again: the bytes to write now (the queued events, then the reset frame
   * that ends a drop period), or undefined when nothing waits. Report the write with `written`.
   */
  take(): Uint8Array | undefined {
    if (this.holding) return undefined;
    const pieces = this.pieces;
    // The reset frame only when it fits under the bound: written while the socket still refuses, it
    // would push the count past it, once per drop period. Otherwise it goes with the next event.
    if (this.dropping) {
      const reset = this.codec.encode(RESET_DROPPED);
      if (this.pieceBytes + this.handedToSocket + reset.length <= this.limits.maxBackpressure) {
        this.dropping = false;
        this.stats.resetSent();
        pieces.push(reset);
      } else this.codec.discard();
    }
    this.pieces = [];
    this.pieceBytes = 0;
    if (pieces.length === 0) return undefined;
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** The stream ended: nothing is held any more. */
  clear(): void {
    this.pieces = [];
    this.pieceBytes = 0;
    this.isBlocked = false;
    this.holding = false;
    this.account();
  }

  private endDropPeriod(next: Uint8Array): Uint8Array {
    this.dropping = false;
    this.stats.resetSent();
    return this.wire(Buffer.concat([RESET_DROPPED, next]));
  }

  private wire(raw: Uint8Array): Uint8Array {
    const wire = this.codec.encode(raw);
    this.lastWireLength = wire.length;
    return wire;
  }

  private overflow(events: number): Verdict {
    if (this.limits.slowConsumer === 'disconnect') return 'disconnect';
    this.dropping = true;
    this.stats.dropped(events);
    return 'skipped';
  }

  private account(): void {
    const now = this.isBlocked || this.holding ? this.pieceBytes + this.handedToSocket : 0;
    if (now === this.accounted) return;
    this.stats.queued(this.accounted, now);
    this.accounted = now;
  }
}
