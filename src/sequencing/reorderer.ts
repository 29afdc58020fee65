// Worker shards claim sequence numbers on their own (SharedSequence) and send their encoded events
// to the main thread, one message per shard per event-loop turn, so runs arrive out of order. This
// puts them back in sequence order before the batcher, holding a run until the ones before it came.
//
// A number a live shard claimed always comes, however late: it is waited for, never skipped (a
// late run released out of order went backwards, and streams already past it never got it). How
// long: a shard claims after encoding and posts what it claimed within its turn (or first, before a
// long encode), so the runs held here are those the other threads publish during one shard's turn.
// Only numbers held by a shard that died are given up, once every live shard has posted what it
// claimed before (settle), and streams are told with a reset.
import type { SequencedRun } from './local-sequencer.js';

export class Reorderer {
  private next: number;
  private readonly waiting = new Map<number, SequencedRun>();

  constructor(
    lastSeq: number,
    private readonly release: (run: SequencedRun) => void,
    /** numbers `from` to `to` will never come: the next run released starts after them */
    private readonly lost: (from: number, to: number) => void,
  ) {
    this.next = lastSeq + 1;
  }

  /** Numbers up to `lastSeq` are taken already (a handover's tail, read after the start): the next run starts after them. */
  startAfter(lastSeq: number): void {
    this.next = lastSeq + 1;
  }

  add(run: SequencedRun): void {
    if (run.firstSeq !== this.next) this.waiting.set(run.firstSeq, run);
    else this.releaseFrom(run);
  }

  /** Every number up to `upTo` that has not come never will (its shard died holding it): goes on without them. */
  settle(upTo: number): void {
    while (this.next <= upTo) {
      let resume = upTo + 1;
      for (const seq of this.waiting.keys()) resume = Math.min(resume, seq);
      console.error(`sequence numbers ${this.next} to ${resume - 1} were claimed by a shard that died before sending them; streams get a reset`);
      this.lost(this.next, resume - 1);
      this.next = resume;
      const run = this.waiting.get(resume);
      if (run !== undefined) this.releaseFrom(run);
    }
  }

  private releaseFrom(first: SequencedRun): void {
    for (let run: SequencedRun | undefined = first; run !== undefined; run = this.waiting.get(this.next)) {
      this.waiting.delete(run.firstSeq);
      this.next = run.firstSeq + run.bytes.length;
      this.release(run);
    }
  }
}
