// Worker shards claim sequence numbers on their own (SharedSequence) and send their encoded events
// to the main thread, one message per shard per event-loop turn, so runs arrive out of order. This
// puts them back in sequence order before the batcher, holding a run until the ones before it came.
import type { SequencedRun } from './local-sequencer.js';

/** How long a gap may stay open before the runs after it go on without it (ms). */
export const GAP_MS = 1_000;

export class Reorderer {
  private next: number;
  private readonly waiting = new Map<number, SequencedRun>();
  private gapTimer: NodeJS.Timeout | undefined;

  constructor(
    lastSeq: number,
    private readonly release: (run: SequencedRun) => void,
  ) {
    this.next = lastSeq + 1;
  }

  add(run: SequencedRun): void {
    if (run.firstSeq !== this.next) {
      this.waiting.set(run.firstSeq, run);
      this.gapTimer ??= setTimeout(() => this.skipGap(), GAP_MS);
      return;
    }
    this.releaseFrom(run);
  }

  private releaseFrom(first: SequencedRun): void {
    for (let run: SequencedRun | undefined = first; run !== undefined; run = this.waiting.get(this.next)) {
      this.waiting.delete(run.firstSeq);
      this.next = run.firstSeq + run.bytes.length;
      this.release(run);
    }
    if (this.waiting.size > 0) this.gapTimer ??= setTimeout(() => this.skipGap(), GAP_MS);
    else {
      clearTimeout(this.gapTimer);
      this.gapTimer = undefined;
    }
  }

  /**
   * Numbers claimed and never sent: only a shard that died between claiming and posting (its fatal
   * handler posts what it holds). The history restarts after a gap, so old ids get a reset frame.
   */
  private skipGap(): void {
    this.gapTimer = undefined;
    if (this.waiting.size === 0) return;
    const resume = Math.min(...this.waiting.keys());
    console.error(`sequence numbers ${this.next} to ${resume - 1} were claimed but never sent; going on without them`);
    this.next = resume;
    this.releaseFrom(this.waiting.get(resume)!);
  }
}

