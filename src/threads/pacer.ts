// When to hand over what has collected: on the next turn after a quiet period (a lone item is
// never held back), then at most once per window while items keep coming (fewer, larger hand-overs
// under load). The owner calls `schedule` when it holds something and `fired` whenever it hands over.
export class Pacer {
  // Kept apart: clearImmediate given a Timeout marks it cancelled but also counts one pending
  // immediate less, and Node then stops running the process's setImmediate callbacks.
  private timeout: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private lastFiredAt = -Infinity; // ms, performance.now()

  constructor(
    private readonly windowMs: number,
    private readonly fire: () => void,
  ) {}

  private readonly onTimer = (): void => {
    this.timeout = this.immediate = undefined;
    // libuv times timers by the loop's clock, read once per turn and in whole ms: one can fire up to
    // a millisecond or so early. The window is a promise, so wait out what is left of it.
    const left = this.lastFiredAt + this.windowMs - performance.now();
    if (left > 0) {
      this.timeout = setTimeout(this.onTimer, left);
      return;
    }
    this.fire();
  };

  schedule(): void {
    if (this.timeout !== undefined || this.immediate !== undefined) return;
    const wait = this.lastFiredAt + this.windowMs - performance.now();
    if (wait <= 0) this.immediate = setImmediate(this.onTimer);
    else this.timeout = setTimeout(this.onTimer, wait);
  }

  /** The owner handed over now (on schedule or early): the next window starts. */
  fired(): void {
    clearTimeout(this.timeout);
    clearImmediate(this.immediate);
    this.timeout = this.immediate = undefined;
    this.lastFiredAt = performance.now();
  }
}
