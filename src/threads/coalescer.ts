// Collects what one event-loop turn produces and posts it as one message in the check phase
// (setImmediate): every request uWS handed over in that turn crosses the thread boundary together.
// A postMessage wakes the other thread, so under load this turns N wake-ups into one.
export class Coalescer<T> {
  private pending: T[] = [];

  constructor(private readonly post: (items: T[]) => void) {}

  push(item: T): void {
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(item);
  }

  /** Posts what is pending now (also before a failing thread ends, so nothing claimed is lost). */
  flush(): void {
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    this.post(items);
  }
}
