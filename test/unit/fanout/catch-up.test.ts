// Waiters for a position: ready once it is reached or their time is up, gone at once when cancelled,
// and a position reached looks only at the waiters it satisfies (a min-heap on the awaited seq).
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CatchUpWaiters } from '../../../src/fanout/catch-up.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('CatchUpWaiters', () => {
  it('reached(seq) makes ready exactly the waiters for seq or earlier; the size follows', () => {
    const sizes: number[] = [];
    const w = new CatchUpWaiters((n) => sizes.push(n));
    const ready: number[] = [];
    for (const seq of [5, 2, 9, 2, 7]) w.wait(seq, 60_000, () => ready.push(seq));
    w.reached(4);
    expect(ready).toEqual([2, 2]);
    w.reached(7);
    expect(ready).toEqual([2, 2, 5, 7]);
    expect(w.size).toBe(1);
    w.releaseAll();
    expect(ready).toEqual([2, 2, 5, 7, 9]);
    expect(sizes).toEqual([1, 2, 3, 4, 5, 4, 3, 2, 1, 0]);
  });

  it('a timed-out waiter is ready once and gone; a cancelled one is never ready and gone at once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = new CatchUpWaiters();
    let timedOut = 0;
    let cancelledReady = 0;
    w.wait(10, 2_000, () => timedOut++);
    const cancel = w.wait(10, 2_000, () => cancelledReady++);
    cancel();
    expect(w.size).toBe(1);
    vi.advanceTimersByTime(2_000);
    expect([timedOut, cancelledReady, w.size]).toEqual([1, 0, 0]);
    cancel(); // again, after the fact: nothing happens
    w.reached(10);
    expect([timedOut, cancelledReady]).toEqual([1, 0]);
  });

  it('any mix of waits, cancels and positions: ready exactly once when due, never after a cancel, none left behind (property)', () => {
    type Op = { kind: 'wait'; seq: number } | { kind: 'cancel'; pick: number } | { kind: 'reach'; seq: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('wait' as const), seq: fc.nat({ max: 20 }) }),
      fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('reach' as const), seq: fc.nat({ max: 60 }) }),
    );
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }); // no timeouts here: nothing advances them
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const w = new CatchUpWaiters();
        const all: Array<{ seq: number; ready: number; cancelled: boolean; cancel: () => void }> = [];
        let position = 0;
        for (const o of ops) {
          if (o.kind === 'wait') {
            // the shard waits only for positions it has not reached
            const entry = { seq: position + 1 + o.seq, ready: 0, cancelled: false, cancel: () => {} };
            entry.cancel = w.wait(entry.seq, 60_000, () => entry.ready++);
            all.push(entry);
          } else if (o.kind === 'cancel' && all.length > 0) {
            const e = all[o.pick % all.length]!;
            if (e.ready === 0) e.cancelled = true;
            e.cancel();
          } else if (o.kind === 'reach') {
            position = Math.max(position, o.seq);
            w.reached(position);
          }
          for (const e of all) expect(e.ready).toBe(!e.cancelled && e.seq <= position ? 1 : 0);
          expect(w.size).toBe(all.filter((e) => e.ready === 0 && !e.cancelled).length);
        }
        for (const e of all) e.cancel();
        expect(w.size).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});
