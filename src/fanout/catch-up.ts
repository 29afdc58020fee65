// Streams waiting for their shard to reach the position their Last-Event-ID names. Anyone can send
// an id far ahead, so a waiter leaves at once when it is served, times out, or its client goes
// away; and a batch looks only at the waiters it satisfies: a min-heap on the awaited seq, each
// waiter knowing its place in it, so removing any one is O(log n).

interface Waiter {
  readonly seq: number;
  /** its index in the heap; -1 once it left */
  at: number;
  readonly timer: NodeJS.Timeout;
  readonly ready: () => void;
}

export class CatchUpWaiters {
  private readonly heap: Waiter[] = [];

  /** `onSize` is told the number of waiters whenever it changes. */
  constructor(private readonly onSize: (size: number) => void = () => {}) {}

  get size(): number {
    return this.heap.length;
  }

  /**
   * Calls `ready` once the position reaches `seq` (reached) or after `ms`, whichever comes first,
   * unless the returned cancel runs before.
   */
  wait(seq: number, ms: number, ready: () => void): () => void {
    const waiter: Waiter = { seq, at: this.heap.length, ready, timer: setTimeout(() => this.leave(waiter, true), ms) };
    this.heap.push(waiter);
    this.up(waiter.at);
    this.onSize(this.heap.length);
    return () => this.leave(waiter, false);
  }

  /** The position is now `seq`: every waiter for it or an earlier one is ready. */
  reached(seq: number): void {
    while (this.heap.length > 0 && this.heap[0]!.seq <= seq) this.leave(this.heap[0]!, true);
  }

  /** Every waiter is ready now (their ids are of an epoch that ended: subscribe answers a reset). */
  releaseAll(): void {
    while (this.heap.length > 0) this.leave(this.heap[0]!, true);
  }

  private leave(w: Waiter, ready: boolean): void {
    if (w.at < 0) return;
    clearTimeout(w.timer);
    const last = this.heap.pop()!;
    if (last !== w) {
      this.heap[w.at] = last;
      last.at = w.at;
      this.down(this.up(last.at));
    }
    w.at = -1;
    this.onSize(this.heap.length);
    if (ready) w.ready();
  }

  /** Moves the waiter at `i` towards the root while it is earlier than its parent; its new index. */
  private up(i: number): number {
    const h = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.seq <= h[i]!.seq) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(i: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < h.length && h[l]!.seq < h[min]!.seq) min = l;
      if (r < h.length && h[r]!.seq < h[min]!.seq) min = r;
      if (min === i) return;
      this.swap(i, min);
      i = min;
    }
  }

  private swap(i: number, j: number): void {
    const h = this.heap;
    const a = h[i]!;
    const b = h[j]!;
    h[i] = b;
    h[j] = a;
    a.at = j;
    b.at = i;
  }
}
