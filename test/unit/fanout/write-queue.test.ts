// The slow-consumer policy without a socket: the test plays the transport (SseStream), asking the
// queue before each write and reporting what the "socket" said, and checks the verdicts, the bytes
// handed back by take(), and the counted bytes the stats see.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SlowConsumerPolicy } from '../../../src/config/config.js';
import { WriteQueue, type Verdict, type WriteQueueStats } from '../../../src/fanout/write-queue.js';
import { encodeReset } from '../../../src/sequencing/sse-encoding.js';

/** The verdict by name: bytes to write now read as 'write'. */
const says = (v: Verdict): string => (v instanceof Uint8Array ? 'write' : v);

class RecordingStats implements WriteQueueStats {
  droppedEvents = 0;
  resets = 0;
  /** sum of every reported change: equals the queue's counted bytes when the reports are consistent */
  queuedNow = 0;
  queuedReports: Array<[number, number]> = [];
  dropped(events: number): void {
    this.droppedEvents += events;
  }
  resetSent(): void {
    this.resets++;
  }
  queued(before: number, now: number): void {
    expect(before).toBe(this.queuedNow); // each report starts where the previous one ended
    this.queuedReports.push([before, now]);
    this.queuedNow = now;
  }
}

function queue(maxBackpressure: number, slowConsumer: SlowConsumerPolicy = 'disconnect'): { q: WriteQueue; stats: RecordingStats } {
  const stats = new RecordingStats();
  return { q: new WriteQueue({ maxBackpressure, slowConsumer }, stats), stats };
}

/** `n` bytes of the letter `c` */
const bytes = (n: number, c = 'x'): Uint8Array => new Uint8Array(Buffer.from(c.repeat(n)));
const text = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : Buffer.from(b).toString('utf8'));

/** The socket refuses a write of `n` bytes, made after an offer said 'write': the queue is blocked from now on. */
function blockWith(q: WriteQueue, n: number): void {
  expect(says(q.offer(bytes(n), 1))).toBe('write');
  expect(q.written(n, false, true)).toBe('ok');
  expect(q.blocked).toBe(true);
}

describe('WriteQueue while the socket takes everything', () => {
  it('says write, holds nothing and counts nothing', () => {
    const { q, stats } = queue(100);
    for (let i = 0; i < 5; i++) {
      expect(says(q.offer(bytes(80), 1))).toBe('write'); // repeatedly close to the bound: nothing accumulates
      expect(q.written(80, true, true)).toBe('ok');
    }
    expect(q.blocked).toBe(false);
    expect(q.queuedBytes).toBe(0);
    expect(q.take()).toBeUndefined();
    expect(stats.queuedReports).toEqual([]);
  });

  it('take() with nothing queued returns undefined, also while blocked', () => {
    const { q } = queue(100);
    expect(q.take()).toBeUndefined();
    blockWith(q, 10);
    expect(q.take()).toBeUndefined();
  });
});

describe('WriteQueue after the socket refused a write', () => {
  it('queues offers instead of saying write, and counts the refused write plus the queue', () => {
    const { q, stats } = queue(100);
    expect(says(q.offer(bytes(10), 1))).toBe('write');
    expect(q.written(10, true, true)).toBe('ok'); // may still sit in the socket: counted once blocked
    blockWith(q, 20);
    expect(q.queuedBytes).toBe(30);
    expect(says(q.offer(bytes(5), 1))).toBe('queued');
    expect(says(q.offer(bytes(7), 2))).toBe('queued');
    expect(q.queuedBytes).toBe(42);
    expect(stats.queuedNow).toBe(42);
  });

  it('queues copies: changing the offered bytes afterwards does not change what take() returns', () => {
    const { q } = queue(100);
    blockWith(q, 10);
    const first = bytes(3, 'a');
    const backing = Buffer.from('..bbb..');
    const second = new Uint8Array(backing.buffer, backing.byteOffset + 2, 3); // a view into a larger buffer, like a batch
    expect(says(q.offer(first, 1))).toBe('queued');
    first.fill(0x7a);
    expect(says(q.offer(second, 1))).toBe('queued');
    backing.fill(0x7a);
    expect(text(q.take())).toBe('aaabbb');
  });

  it('a single queued offer comes back with the same bytes', () => {
    const { q } = queue(100);
    blockWith(q, 10);
    const only = bytes(4, 'q');
    expect(says(q.offer(only, 1))).toBe('queued');
    only.fill(0x7a);
    expect(text(q.take())).toBe('qqqq');
  });

  it('take() empties the queue; the write of what it returned is counted until a write goes through', () => {
    const { q, stats } = queue(100);
    blockWith(q, 10);
    q.offer(bytes(6), 1);
    const chunk = q.take()!;
    expect(chunk.length).toBe(6);
    expect(q.take()).toBeUndefined();
    expect(q.written(chunk.length, false, false)).toBe('ok');
    expect(q.queuedBytes).toBe(16);
    expect(q.written(3, true, false)).toBe('ok');
    expect(q.blocked).toBe(false);
    expect(q.queuedBytes).toBe(0);
    expect(stats.queuedNow).toBe(0);
    expect(says(q.offer(bytes(1), 1))).toBe('write');
  });

  it('clear() forgets what was queued: counted bytes go back to 0 and the stats see the decrease', () => {
    const { q, stats } = queue(100);
    blockWith(q, 10);
    q.offer(bytes(30), 1);
    expect(stats.queuedNow).toBe(40);
    q.clear();
    expect(q.queuedBytes).toBe(0);
    expect(q.blocked).toBe(false);
    expect(stats.queuedReports.at(-1)).toEqual([40, 0]);
    expect(stats.queuedNow).toBe(0);
    expect(q.take()).toBeUndefined();
  });
});

describe('WriteQueue with SLOW_CONSUMER=disconnect', () => {
  it('an offer that would take the counted bytes past the bound says disconnect; up to the bound is queued', () => {
    const { q } = queue(100);
    blockWith(q, 60);
    expect(says(q.offer(bytes(40), 1))).toBe('queued'); // exactly 100
    expect(says(q.offer(bytes(1), 1))).toBe('disconnect');
  });

  it('a refused bounded write that takes the counted bytes past the bound says disconnect', () => {
    const { q } = queue(100);
    expect(says(q.offer(bytes(60), 1))).toBe('write');
    expect(q.written(60, true, true)).toBe('ok');
    expect(says(q.offer(bytes(41), 1))).toBe('write');
    expect(q.written(41, false, true)).toBe('disconnect');
  });

  it('a refused bounded write that stays within the bound is only backpressure', () => {
    const { q } = queue(100);
    expect(says(q.offer(bytes(60), 1))).toBe('write');
    expect(q.written(60, true, true)).toBe('ok');
    expect(says(q.offer(bytes(40), 1))).toBe('write');
    expect(q.written(40, false, true)).toBe('ok');
    expect(q.queuedBytes).toBe(100);
  });

  it('an accepted write never applies the policy, however large', () => {
    const { q } = queue(100);
    expect(says(q.offer(bytes(500), 1))).toBe('write');
    expect(q.written(500, true, true)).toBe('ok');
    expect(q.queuedBytes).toBe(0);
  });
});

describe('WriteQueue with SLOW_CONSUMER=drop', () => {
  const RESET = Buffer.from(encodeReset('dropped'));

  it('skips events past the bound and counts them, then gives the queued bytes, and the reset frame with the next event', () => {
    const { q, stats } = queue(100, 'drop');
    blockWith(q, 60);
    expect(says(q.offer(bytes(30, 'k'), 2))).toBe('queued');
    expect(says(q.offer(bytes(11), 3))).toBe('skipped'); // 60 + 30 + 11 > 100: the drop period begins
    expect(says(q.offer(bytes(1), 4))).toBe('skipped'); // would fit, but the period lasts until the reset is sent
    expect(stats.droppedEvents).toBe(7);
    expect(stats.resets).toBe(0);

    const chunk = q.take()!; // 60 + 30 + the reset would pass 100: the queued bytes only
    expect(Buffer.from(chunk).equals(Buffer.from('k'.repeat(30)))).toBe(true);
    expect(stats.resets).toBe(0);

    // the socket takes the chunk: the reset frame goes with the next event, then normal service
    expect(q.written(chunk.length, true, false)).toBe('ok');
    const next = q.offer(bytes(5), 1);
    expect(Buffer.from(next as Uint8Array).equals(Buffer.concat([RESET, bytes(5)]))).toBe(true);
    expect(stats.resets).toBe(1);
    expect(q.written(RESET.length + 5, false, true)).toBe('ok');
    expect(says(q.offer(bytes(5), 1))).toBe('queued');
    expect(q.take()!.length).toBe(5); // no second reset frame
    expect(stats.resets).toBe(1);
    expect(stats.droppedEvents).toBe(7);
  });

  it('with nothing queued when the drop period began, take() returns exactly the reset frame once it fits', () => {
    const { q, stats } = queue(100, 'drop');
    blockWith(q, 95);
    expect(says(q.offer(bytes(6), 1))).toBe('skipped');
    expect(q.take()).toBeUndefined(); // 95 + the reset would pass 100
    q.written(3, false, false); // the heartbeat onWritable writes instead, refused
    expect(q.take()).toBeUndefined();
    expect(q.written(3, true, false)).toBe('ok'); // now one goes through: the next event carries the reset
    expect(Buffer.from(q.offer(bytes(2), 1) as Uint8Array).equals(Buffer.concat([RESET, bytes(2)]))).toBe(true);
    expect(stats.resets).toBe(1);
    expect(q.take()).toBeUndefined(); // one reset per drop period
    expect(stats.resets).toBe(1);
  });

  it('a refused bounded write past the bound starts a drop period (the write itself went out)', () => {
    const { q, stats } = queue(100, 'drop');
    expect(says(q.offer(bytes(70), 1))).toBe('write');
    expect(q.written(70, true, true)).toBe('ok');
    expect(says(q.offer(bytes(40), 2))).toBe('write');
    expect(q.written(40, false, true)).toBe('ok'); // drop never disconnects
    expect(says(q.offer(bytes(1), 5))).toBe('skipped');
    expect(stats.droppedEvents).toBe(5); // the 2 events of the refused write were handed over, not dropped
    expect(q.take()).toBeUndefined(); // 110 counted: the reset does not fit yet
  });

  it('after take() offers are queued again while blocked', () => {
    const { q } = queue(100, 'drop');
    blockWith(q, 50);
    expect(says(q.offer(bytes(51), 1))).toBe('skipped');
    const reset = q.take()!;
    expect(q.written(reset.length, false, false)).toBe('ok');
    expect(says(q.offer(bytes(2), 1))).toBe('queued');
  });

  // The bound may be passed by the write that revealed the backpressure (20 bytes here), never more.
  // A drop period that ends while the socket still refuses writes puts its reset frame on top.
  it('the reset frame waits until it fits under the bound, so drop periods never push the count past it', () => {
    const { q, stats } = queue(100, 'drop');
    expect(says(q.offer(bytes(90), 1))).toBe('write');
    expect(q.written(90, true, true)).toBe('ok');
    expect(says(q.offer(bytes(20), 1))).toBe('write');
    expect(q.written(20, false, true)).toBe('ok'); // 110 counted: the drop period begins
    expect(q.queuedBytes).toBe(110);
    for (let period = 1; period <= 3; period++) {
      expect(q.offer(bytes(1), 1)).toBe('skipped');
      expect(q.take()).toBeUndefined(); // 110 + the reset would pass 100: not yet
      q.written(3, false, false); // onWritable writes a heartbeat; the socket still refuses
      expect(q.queuedBytes, `counted bytes after drop period ${period}`).toBeLessThanOrEqual(100 + 20);
    }
    expect(stats.resets).toBe(0);
    q.written(3, true, false); // a write goes through: the socket caught up
    const next = q.offer(Buffer.from('next'), 1);
    expect(next).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(next as Uint8Array).toString()).toBe(RESET.toString() + 'next'); // the reset rides with the next event
    expect(stats.resets).toBe(1);
  });
});

describe('WriteQueue unbounded writes (the first write of a stream, a flush on writable)', () => {
  it.each<SlowConsumerPolicy>(['disconnect', 'drop'])('never apply the %s policy, even far past the bound', (policy) => {
    const { q, stats } = queue(100, policy);
    expect(q.written(1_000, false, false)).toBe('ok');
    expect(q.written(1_000, false, false)).toBe('ok');
    expect(q.queuedBytes).toBe(2_000);
    expect(stats.droppedEvents).toBe(0);
    expect(q.take()).toBeUndefined(); // no drop period began: no reset frame
    expect(stats.resets).toBe(0);
  });

  it('after an oversized first write, the next offer applies the policy', () => {
    const { q } = queue(100, 'disconnect');
    q.written(1_000, false, false);
    expect(says(q.offer(bytes(1), 1))).toBe('disconnect');
  });
});

// The transport's protocol, played at random: the stream's first write (unbounded, any size), then
// offers (one that says 'write' is written, bounded, and the socket answers), heartbeats (a bounded
// 3-byte write when not blocked), and onWritable while blocked, which writes what take() returns,
// unbounded. A disconnect ends the stream. The counted bytes may pass the bound by the one write that
// revealed the backpressure, never more; the stats always see the counted bytes.
// (On onWritable with nothing queued the transport writes a heartbeat comment: that is SseStream's
// choice, not the queue's, and is left out here.)
describe('WriteQueue bound (property)', () => {
  type Step = { kind: 'offer'; size: number; ok: boolean } | { kind: 'writable'; ok: boolean } | { kind: 'heartbeat'; ok: boolean };
  const HEARTBEAT_BYTES = 3;

  const bounded = (policy: SlowConsumerPolicy) =>
    fc.property(
      fc.integer({ min: 64, max: 512 }),
      fc.record({ size: fc.nat({ max: 1024 }), ok: fc.boolean() }),
      fc.array(
        fc.oneof(
          { weight: 6, arbitrary: fc.record({ kind: fc.constant('offer' as const), size: fc.nat(), ok: fc.boolean() }) },
          { weight: 2, arbitrary: fc.record({ kind: fc.constant('writable' as const), ok: fc.boolean() }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant('heartbeat' as const), ok: fc.boolean() }) },
        ),
        { maxLength: 60 },
      ),
      (max, head, steps: Step[]) => {
        const { q, stats } = queue(max, policy);
        let largest = 0;
        const write = (length: number, ok: boolean, isBounded: boolean): 'ok' | 'disconnect' => {
          largest = Math.max(largest, length);
          return q.written(length, ok, isBounded);
        };
        const check = (): void => {
          expect(q.queuedBytes).toBeLessThanOrEqual(max + largest);
          expect(stats.queuedNow).toBe(q.queuedBytes);
        };
        write(head.size, head.ok, false);
        check();
        for (const step of steps) {
          if (step.kind === 'offer') {
            const size = 1 + (step.size % max); // offers up to the bound
            const verdict = q.offer(bytes(size), 1);
            if (verdict === 'disconnect') return;
            if (verdict instanceof Uint8Array && write(verdict.length, step.ok, true) === 'disconnect') return;
          } else if (step.kind === 'writable') {
            if (!q.blocked) continue; // uWS calls onWritable only after backpressure
            const chunk = q.take();
            if (chunk !== undefined) write(chunk.length, step.ok, false);
          } else if (!q.blocked && write(HEARTBEAT_BYTES, step.ok, true) === 'disconnect') return;
          check();
        }
      },
    );

  it('disconnect: counted bytes <= maxBackpressure + largest single write, and the stats agree', () => {
    fc.assert(bounded('disconnect'), { numRuns: 300 });
  });

  it('drop: counted bytes <= maxBackpressure + largest single write, and the stats agree', () => {
    fc.assert(bounded('drop'), { numRuns: 300 });
  });
});

describe('WriteQueue behind a replay (hold, then release)', () => {
  /** a codec that tags what it encodes, in the order it encodes it */
  const tagging = (): { encoded: string[]; codec: { encode(raw: Uint8Array): Uint8Array; discard(): void } } => {
    const encoded: string[] = [];
    return { encoded, codec: { encode: (raw) => (encoded.push(text(raw)!), Buffer.from(`<${text(raw)}>`)), discard: () => void encoded.pop() } };
  };

  it('offers wait behind the replay, unencoded, even while the socket takes writes; released, they come out encoded once, in order', () => {
    const stats = new RecordingStats();
    const { encoded, codec } = tagging();
    const q = new WriteQueue({ maxBackpressure: 1_000, slowConsumer: 'disconnect' }, stats, codec);
    q.hold();
    q.written(10, true, false); // a replay chunk went through
    expect(q.offer(bytes(3, 'a'), 1)).toBe('queued');
    expect(q.offer(bytes(3, 'b'), 1)).toBe('queued');
    expect(encoded).toEqual([]); // its wire bytes depend on the replay chunks still to come
    expect(q.take()).toBeUndefined(); // nothing jumps the replay
    expect(text(q.encode(bytes(2, 'r')))).toBe('<rr>'); // the next replay chunk, in wire order
    q.written(4, true, false);
    q.release();
    expect(text(q.take())).toBe('<aaabbb>');
    expect(encoded).toEqual(['rr', 'aaabbb']);
    expect(q.take()).toBeUndefined();
  });

  it('what waits behind a replay stalled on backpressure counts against the bound: past it, the policy applies', () => {
    const { q, stats } = queue(100);
    q.hold();
    q.written(40, true, false);
    q.written(40, false, false); // the socket refused a replay chunk: 80 bytes may still be in it
    expect(q.offer(bytes(15), 1)).toBe('queued');
    expect(q.queuedBytes).toBe(95);
    expect(stats.queuedNow).toBe(95);
    expect(q.offer(bytes(10), 1)).toBe('disconnect');
  });

  it('SLOW_CONSUMER=drop: events past the bound are skipped; after the replay and what waited, the reset frame', () => {
    const { q, stats } = queue(100, 'drop');
    q.hold();
    q.written(80, false, false);
    expect(q.offer(bytes(10, 'a'), 1)).toBe('queued');
    expect(q.offer(bytes(30, 'b'), 2)).toBe('skipped');
    expect(q.offer(bytes(5, 'c'), 1)).toBe('skipped'); // a drop period lasts until the client catches up
    expect(stats.droppedEvents).toBe(3);
    q.written(20, true, false); // the socket drained and took the last replay chunk
    q.release();
    expect(text(q.take())).toBe('aaaaaaaaaa' + Buffer.from(encodeReset('dropped')).toString());
    expect(stats.resets).toBe(1);
  });

  it('released with nothing waiting: nothing to take, nothing counted once the socket took the last chunk', () => {
    const { q, stats } = queue(100);
    q.hold();
    q.written(60, true, false);
    q.release();
    expect(q.take()).toBeUndefined();
    expect(q.queuedBytes).toBe(0);
    expect(stats.queuedNow).toBe(0);
  });
});
