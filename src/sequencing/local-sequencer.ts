// One server, no Redis: whichever thread receives a publish encodes it, numbers it from the shared
// sequence and answers at once (no round trip to another thread, so HTTP pipelining works); the
// encoded run goes to the main thread, which restores the global order (Reorderer) before batching.
// With SHARDS=0 that thread is the main thread itself.
import type { PublishItem } from '../intake/publish-request.js';
import { formatId } from './event-ids.js';
import type { SharedSequence } from './shared-sequence.js';
import { encodeUnnumbered, withId } from './sse-encoding.js';

/** Events numbered and encoded together: `bytes[i]` is the event numbered `firstSeq + i`. */
export interface SequencedRun {
  firstSeq: number;
  topics: string[];
  bytes: Uint8Array[];
  /** when the publish request's body was in (ms since the epoch), for the publish latency */
  receivedAt: number;
}

export class LocalSequencer {
  constructor(
    private readonly sequence: SharedSequence,
    private readonly epoch: string,
    private readonly sink: (run: SequencedRun) => void,
  ) {}

  /**
   * Synchronous: the ids are known before this returns. Encodes first, then claims: the main thread
   * releases events in sequence order, so a number claimed before seconds of encoding (megabytes of
   * lines) would hold every other thread's later events back for that long.
   */
  assign(items: readonly PublishItem[], receivedAt = performance.timeOrigin + performance.now()): string[] {
    const unnumbered = items.map(encodeUnnumbered);
    const firstSeq = this.sequence.claim(items.length);
    const ids = items.map((_, i) => formatId(this.epoch, firstSeq + i));
    this.sink({ firstSeq, topics: items.map((it) => it.topic), bytes: unnumbered.map((b, i) => withId(b, ids[i]!)), receivedAt });
    return ids;
  }
}
