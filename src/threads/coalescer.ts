// Collects what the event loop produces and posts it as one message: every request uWS handed over
// in a turn crosses the thread boundary together. A postMessage wakes the other thread, so under
// load this turns N wake-ups into one; with a window, into at most one per window.
import { Pacer } from './pacer.js';

export class Coalescer<T> {
  private pending: T[] = [];
  private readonly pacer: Pacer;

  /** `windowMs` 0: one message per turn at most; more: at most one per window (the first at once). */
  constructor(
    private readonly post: (items: T[]) => void,
    windowMs = 0,
  ) {
    this.pacer = new Pacer(windowMs, () => this.flush());
  }

  push(item: T): void {
    this.pacer.schedule();
    this.pending.push(item);
  }

  /** Posts what is pending now (also before a failing thread ends, so nothing claimed is lost). */
  flush(): void {
    if (this.pending.length === 0) return;
    this.pacer.fired();
    const items = this.pending;
    this.pending = [];
    this.post(items);
  }
}
