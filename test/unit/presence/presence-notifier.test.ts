// The $presence rate bound: at most one announcement per topic per interval, the newest count at the
// end of a busy interval, nothing when the count came back to what was announced.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PresenceNotifier } from '../../../src/presence/presence-notifier.js';

describe('PresenceNotifier', () => {
  let sent: Array<[string, number, number]>;
  let n: PresenceNotifier;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    n = new PresenceNotifier(1_000, (topic, count) => sent.push([topic, count, Date.now()]));
  });
  afterEach(() => {
    n.stop();
    vi.useRealTimers();
  });

  it('announces the first change at once, and the newest of a busy interval at its end', () => {
    const t0 = Date.now();
    n.update('a', 1);
    for (let i = 2; i < 200; i++) n.update('a', i % 7);
    n.update('a', 3);
    expect(sent).toEqual([['a', 1, t0]]);
    vi.advanceTimersByTime(1_000);
    expect(sent).toEqual([['a', 1, t0], ['a', 3, t0 + 1_000]]);
    vi.advanceTimersByTime(5_000);
    expect(sent).toHaveLength(2);
    expect(n.waiting).toBe(0);
  });

  it('a storm of any length yields at most one announcement per interval per topic', () => {
    for (let ms = 0; ms < 10_000; ms += 5) {
      n.update('storm', ms % 2);
      n.update('other', ms % 3);
      vi.advanceTimersByTime(5);
    }
    vi.advanceTimersByTime(2_000);
    const storm = sent.filter(([t]) => t === 'storm');
    expect(storm.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < storm.length; i++) expect(storm[i]![2] - storm[i - 1]![2]).toBeGreaterThanOrEqual(1_000);
  });

  it('says nothing when the count is back to what it announced', () => {
    n.update('a', 1);
    n.update('a', 2);
    n.update('a', 1);
    vi.advanceTimersByTime(3_000);
    expect(sent.map(([, c]) => c)).toEqual([1]);
  });

  it('after a quiet interval the next change goes out at once', () => {
    n.update('a', 1);
    vi.advanceTimersByTime(1_500);
    n.update('a', 0);
    expect(sent.map(([, c]) => c)).toEqual([1, 0]);
  });
});
