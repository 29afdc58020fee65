// A timer for a moment that input decides (a token's exp), however far away. setTimeout takes at
// most 2^31-1 ms (24.86 days): a longer delay fires after 1 ms, with only a TimeoutOverflowWarning.

/** The longest delay setTimeout honours (ms). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface LongTimer {
  cancel(): void;
}

/** Calls `fire` once at `at` (ms since the epoch, as Date.now()); a moment already past fires on the next timer turn. */
export function timerAt(at: number, fire: () => void): LongTimer {
  let timer: NodeJS.Timeout;
  const arm = (): void => {
    const left = Math.max(0, at - Date.now());
    // a step at most the largest delay, then look at the clock again
    timer = left > MAX_TIMEOUT_MS ? setTimeout(arm, MAX_TIMEOUT_MS) : setTimeout(fire, left);
  };
  arm();
  return { cancel: () => clearTimeout(timer) };
}
