// The Pacer decides when collected items are handed over: on the next turn after a quiet period,
// then at most once per window. Driven on vitest's fake clock (timers, immediates and
// performance.now move together), so windows are exact and nothing waits for real time.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pacer } from '../../../src/threads/pacer.js';

const WINDOW_MS = 40;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'] });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A pacer whose owner hands over whenever it fires, recording when (performance.now()). */
function paced(windowMs = WINDOW_MS): { pacer: Pacer; fires: number[] } {
  const fires: number[] = [];
  const pacer: Pacer = new Pacer(windowMs, () => {
    fires.push(performance.now());
    pacer.fired();
  });
  return { pacer, fires };
}

describe('Pacer', () => {
  it('after a quiet period fires on the next turn, not inside the one that schedules', () => {
    const { pacer, fires } = paced();
    const start = performance.now();
    pacer.schedule();
    expect(fires).toEqual([]);
    vi.advanceTimersByTime(0); // runs what is due now: the immediate
    expect(fires).toEqual([start]);
  });

  it('fires once however often it is scheduled before it fires', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    pacer.schedule();
    pacer.schedule();
    vi.runAllTimers();
    expect(fires).toHaveLength(1);
  });

  it('never fires again until its window since the last hand-over has passed', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    vi.advanceTimersByTime(0);
    const first = fires[0]!;
    vi.advanceTimersByTime(10);
    pacer.schedule(); // 10 ms into the window
    vi.advanceTimersByTime(WINDOW_MS - 10 - 1);
    expect(fires).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(fires).toEqual([first, first + WINDOW_MS]);
  });

  it('a schedule after the window has passed fires on the next turn again', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(WINDOW_MS + 5);
    const at = performance.now();
    pacer.schedule();
    vi.advanceTimersByTime(0);
    expect(fires[1]).toBe(at);
  });

  it('fired() by the owner (an early hand-over) cancels the pending fire and starts a new window', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    pacer.fired(); // the owner handed over by itself (e.g. a full batch)
    const early = performance.now();
    vi.runAllTimers();
    expect(fires).toEqual([]);
    pacer.schedule();
    vi.advanceTimersByTime(WINDOW_MS - 1);
    expect(fires).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fires).toEqual([early + WINDOW_MS]);
  });

  it('fired() cancels a pending window timer too', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    vi.advanceTimersByTime(0);
    pacer.schedule(); // a window timer
    pacer.fired();
    vi.runAllTimers();
    expect(fires).toHaveLength(1);
  });

  it('a window timer that fires early (libuv reads its clock once per turn, in whole ms) waits out the rest of the window', () => {
    const { pacer, fires } = paced();
    pacer.schedule();
    vi.advanceTimersByTime(0);
    const first = fires[0]!;
    pacer.schedule();
    // The timer runs while performance.now() still reads 1.7 ms short of the window's end.
    const fakeNow = performance.now.bind(performance);
    let lag = 1.7;
    vi.spyOn(performance, 'now').mockImplementation(() => fakeNow() - lag);
    vi.advanceTimersByTime(WINDOW_MS);
    expect(fires).toHaveLength(1);
    lag = 0;
    vi.runAllTimers();
    expect(fires).toHaveLength(2);
    expect(fires[1]! - first).toBeGreaterThanOrEqual(WINDOW_MS);
  });

  it('a zero window fires on the next turn every time', () => {
    const { pacer, fires } = paced(0);
    for (let i = 0; i < 3; i++) {
      pacer.schedule();
      expect(fires).toHaveLength(i);
      vi.advanceTimersByTime(0);
      expect(fires).toHaveLength(i + 1);
    }
  });
});
