// A resume's replay, read in chunks as the socket takes them: a cursor over the history's batches,
// never the whole replay at once (a resume from the start of a large window is millions of bytes).
// It reads the batches the history held when the stream subscribed, so events that leave the window
// meanwhile are still replayed: the hub skips everything up to `lastSeq`, so nothing may be lost.
import type { EventBatch } from '../sequencing/batch-layout.js';

/** What a stream writes before anything live, in chunks as the socket takes them. */
export interface ReplaySource {
  readonly done: boolean;
  /** about `maxBytes` of events (at least one); undefined once the replay is over */
  next(maxBytes: number): Uint8Array | undefined;
}

export class Replay implements ReplaySource {
  private batch: number;
  private index: number;

  /**
   * `batches[from..end)` hold the events after `afterSeq` (the caller guarantees that this part of
   * the array never changes: History only appends to it, and replaces it to drop old batches).
   * `onRead` is told how many events each chunk carries.
   */
  constructor(
    private batches: readonly EventBatch[],
    from: number,
    private readonly end: number,
    afterSeq: number,
    private readonly topics: ReadonlySet<string>,
    private readonly onRead: (events: number) => void = () => {},
  ) {
    this.batch = from;
    this.index = from < end ? Math.max(0, afterSeq + 1 - batches[from]!.firstSeq) : 0;
  }

  get done(): boolean {
    return this.batch >= this.end;
  }

  /**
   * The next events on the stream's topics, about `maxBytes` of them (at least one event, at most
   * one event past `maxBytes`); undefined once the replay is over. Runs of consecutive events are
   * views into their batch; a chunk spanning several runs is one copy of them.
   */
  next(maxBytes: number): Uint8Array | undefined {
    const pieces: Uint8Array[] = [];
    let size = 0;
    let events = 0;
    while (this.batch < this.end && size < maxBytes) {
      const b = this.batches[this.batch]!;
      // A batch's topic dictionary says whether it holds any of them: a quiet topic's resume skips the rest whole.
      if (!b.topics.some((t) => this.topics.has(t))) {
        this.batch++;
        this.index = 0;
        continue;
      }
      let runStart = -1;
      let runEnd = 0;
      for (; this.index < b.count && size < maxBytes; this.index++) {
        const i = this.index;
        if (!this.topics.has(b.topics[b.topicIndex[i]!]!)) continue;
        const start = i === 0 ? 0 : b.ends[i - 1]!;
        if (start !== runEnd || runStart < 0) {
          if (runStart >= 0) pieces.push(b.bytes.subarray(runStart, runEnd));
          runStart = start;
        }
        runEnd = b.ends[i]!;
        size += runEnd - start;
        events++;
      }
      if (runStart >= 0) pieces.push(b.bytes.subarray(runStart, runEnd));
      if (this.index >= b.count) {
        this.batch++;
        this.index = 0;
      }
    }
    if (this.done) this.batches = []; // the batches are not pinned past the replay's end
    if (events === 0) return undefined;
    this.onRead(events);
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, size);
  }
}
