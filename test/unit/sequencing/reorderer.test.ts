// Reorderer: runs numbered by several shards arrive out of order; they leave in sequence order.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SequencedRun } from '../../../src/sequencing/local-sequencer.js';
import { Reorderer } from '../../../src/sequencing/reorderer.js';

const run = (firstSeq: number, count = 1): SequencedRun => ({
  firstSeq,
  topics: Array.from({ length: count }, () => 't'),
  bytes: Array.from({ length: count }, (_, i) => Buffer.from(String(firstSeq + i))),
  receivedAt: 0,
});

/** `seqs`: what was released, in order, with each lost range as a string `lost from-to` where it fell. */
function released(lastSeq = 0): { r: Reorderer; seqs: Array<number | string> } {
  const seqs: Array<number | string> = [];
  const r = new Reorderer(
    lastSeq,
    (x) => seqs.push(...x.bytes.map((_, i) => x.firstSeq + i)),
    (from, to) => seqs.push(`lost ${from}-${to}`),
  );
  return { r, seqs };
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Reorderer', () => {
  it('passes runs that arrive in order straight through', () => {
    const { r, seqs } = released();
    r.add(run(1, 2));
    r.add(run(3));
    expect(seqs).toEqual([1, 2, 3]);
  });

  it('holds a run until the runs before it arrived, then releases all of them in order', () => {
    const { r, seqs } = released();
    r.add(run(4, 2));
    r.add(run(2, 2));
    expect(seqs).toEqual([]);
    r.add(run(1));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    r.add(run(6));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('any arrival order of runs gives every seq once, in order', () => {
    for (let trial = 0; trial < 50; trial++) {
      const runs: SequencedRun[] = [];
      for (let seq = 1; seq <= 40; ) {
        const n = 1 + Math.floor(Math.random() * 3);
        runs.push(run(seq, n));
        seq += n;
      }
      runs.sort(() => Math.random() - 0.5);
      const { r, seqs } = released();
      for (const x of runs) r.add(x);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(seqs.length).toBeGreaterThanOrEqual(40);
    }
  });

  it('a run from a live shard is released in its place however late, never skipped or sent after later ones', () => {
    vi.useFakeTimers();
    const { r, seqs } = released();
    r.add(run(1));
    for (let seq = 3; seq < 1_000; seq++) r.add(run(seq));
    vi.advanceTimersByTime(60_000);
    expect(seqs).toEqual([1]);
    r.add(run(2));
    expect(seqs).toEqual(Array.from({ length: 999 }, (_, i) => i + 1));
  });

  it('numbers a dead shard held are given up only when settled, and only up to where it settled', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { r, seqs } = released();
    r.add(run(1));
    r.add(run(3));
    r.add(run(7, 2));
    r.add(run(10));
    r.settle(8); // 2, 4-6 lost; 9 was claimed after the shard died and is still to come
    expect(seqs).toEqual([1, 'lost 2-2', 3, 'lost 4-6', 7, 8]);
    r.add(run(9));
    expect(seqs).toEqual([1, 'lost 2-2', 3, 'lost 4-6', 7, 8, 9, 10]);
    r.settle(10); // nothing missing: nothing lost
    expect(seqs).toHaveLength(8);
  });

  it('settling with nothing waiting gives up the numbers claimed up to then that never came', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { r, seqs } = released();
    r.add(run(1));
    r.settle(3);
    expect(seqs).toEqual([1, 'lost 2-3']);
    r.add(run(4));
    expect(seqs).toEqual([1, 'lost 2-3', 4]);
  });
});
