// One log line per refused request, saying why (never the token), at most `burst` lines per window
// per thread: a flood of bad tokens must not become a flood of log lines. What was left out is
// counted and said in one line when the next window opens.
export class RefusalLog {
  private windowStart = 0;
  private lines = 0;
  private suppressed = 0;

  constructor(
    private readonly write: (line: string) => void = (line) => console.error(line),
    private readonly burst = 20,
    private readonly windowMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  refused(what: string, status: number, reason: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) this.write(`auth: ${this.suppressed} more refusal(s) not logged in the last ${Math.round((t - this.windowStart) / 1000)} s`);
      this.windowStart = t;
      this.lines = 0;
      this.suppressed = 0;
    }
    if (this.lines >= this.burst) {
      this.suppressed++;
      return;
    }
    this.lines++;
    this.write(`auth: ${status} ${what}: ${reason}`);
  }
}
