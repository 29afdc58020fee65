// When to hand over what has collected: on the next turn after a quiet period (a lone item is
// never held back), then at most once per window while items keep coming (fewer, larger hand-overs
// under load). The owner calls `schedule` when it holds something and `fired` whenever it hands over.
export class Pacer {
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private lastFiredAt = -Infinity; // ms, performance.now()

  constructor(
    private readonly windowMs: number,
    private readonly fire: () => void,
  ) {}

  private readonly onTimer = (): void => {
    // libuv times timers by the loop's clock, read once per turn and in whole ms: one can fire up to
    // a millisecond or so early. The window is a promise, so wait out what is left of it.
    const left = this.lastFiredAt + this.windowMs - performance.now();
    if (left > 0) {
      this.timer = setTimeout(this.onTimer, left);
      return;
    }
    this.timer = undefined;
    this.fire();
  };

  schedule(): void {
    if (this.timer !== undefined) return;
    const wait = this.lastFiredAt + this.windowMs - performance.now();
    this.timer = wait <= 0 ? setImmediate(this.onTimer) : setTimeout(this.onTimer, wait);
  }

  /** The owner handed over now (on schedule or early): the next window starts. */
  fired(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
      this.timer = undefined;
    }
    this.lastFiredAt = performance.now();
  }
}
