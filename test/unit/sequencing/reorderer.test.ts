// Reorderer: runs numbered by several shards arrive out of order; they leave in sequence order.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SequencedRun } from '../../../src/sequencing/local-sequencer.js';
import { GAP_MS, Reorderer } from '../../../src/sequencing/reorderer.js';

const run = (firstSeq: number, count = 1): SequencedRun => ({
  firstSeq,
  topics: Array.from({ length: count }, () => 't'),
  bytes: Array.from({ length: count }, (_, i) => Buffer.from(String(firstSeq + i))),
  receivedAt: 0,
});

function released(lastSeq = 0): { r: Reorderer; seqs: number[] } {
  const seqs: number[] = [];
  const r = new Reorderer(lastSeq, (x) => seqs.push(...x.bytes.map((_, i) => x.firstSeq + i)));
  return { r, seqs };
}

afterEach(() => {
  vi.useRealTimers();
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

  it('a gap that never fills (a shard died between claiming and sending) is skipped after GAP_MS', () => {
    vi.useFakeTimers();
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const { r, seqs } = released();
    r.add(run(1));
    r.add(run(3));
    vi.advanceTimersByTime(GAP_MS - 1);
    expect(seqs).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(seqs).toEqual([1, 3]);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('2 to 2'));
    r.add(run(4));
    expect(seqs).toEqual([1, 3, 4]);
  });
});
