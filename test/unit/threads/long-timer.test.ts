// timerAt: a moment further away than setTimeout can wait (2^31-1 ms, 24.86 days) is still waited
// for, in steps. The fake clock behaves as Node does: a longer setTimeout delay fires after 1 ms.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMEOUT_MS, timerAt } from '../../../src/threads/long-timer.js';

const DAY_MS = 86_400_000;

afterEach(() => {
  vi.useRealTimers();
});

describe('timerAt', () => {
  it('the fake clock overflows as Node does: a plain setTimeout of 30 days fires at once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let fired = false;
    setTimeout(() => (fired = true), 30 * DAY_MS);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(true);
  });

  it('fires 30 days ahead at that moment, not before', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const at = Date.now() + 30 * DAY_MS;
    let firedAt: number | undefined;
    timerAt(at, () => (firedAt = Date.now()));
    vi.advanceTimersByTime(1_000);
    expect(firedAt).toBeUndefined();
    vi.advanceTimersByTime(MAX_TIMEOUT_MS); // one full step: still more than 5 days to go
    expect(firedAt).toBeUndefined();
    vi.advanceTimersByTime(at - Date.now() - 1);
    expect(firedAt).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(firedAt).toBe(at);
  });

  it('fires exactly once, far past several steps', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let fired = 0;
    timerAt(Date.now() + 100 * DAY_MS, () => fired++);
    vi.advanceTimersByTime(200 * DAY_MS);
    expect(fired).toBe(1);
  });

  it('cancel stops it in any step, the first or a later one', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let fired = 0;
    timerAt(Date.now() + 60 * DAY_MS, () => fired++).cancel();
    const later = timerAt(Date.now() + 60 * DAY_MS, () => fired++);
    vi.advanceTimersByTime(40 * DAY_MS); // into its second step
    later.cancel();
    vi.advanceTimersByTime(40 * DAY_MS);
    expect(fired).toBe(0);
  });

  it('a moment already past fires on the next timer turn, not inside the call', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    let fired = 0;
    timerAt(Date.now() - 5_000, () => fired++);
    expect(fired).toBe(0);
    vi.advanceTimersByTime(0);
    expect(fired).toBe(1);
  });
});
