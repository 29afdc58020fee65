// Encodes each sequenced event to SSE bytes once and collects events into shared batches for the
// shards. Its cost per event does not depend on how many subscribers there are. It does not choose
// sequence numbers: the local sequencer (one server) or the Redis event log (cluster mode) does.
//
// Batching is leading-edge: after a quiet period the first event leaves on the next tick (with
// whatever else arrived in that tick); after that, at most one batch leaves per BATCH_MS unless
// BATCH_SIZE fills first. A lone event is never held back, and a busy stream still gets the fewer,
// larger writes that cut fan-out cost. No event waits longer than BATCH_MS.
import type { PublishItem } from '../intake/publish-request.js';
import { Pacer } from '../threads/pacer.js';
import { BatchBuilder, type KeyMark, type SharedBatch } from './batch-layout.js';
import type { SequencedRun } from './local-sequencer.js';
import { formatId } from './event-ids.js';
import { encodePublished } from './sse-encoding.js';

export class Batcher {
  private seq = 0;
  private readonly builder = new BatchBuilder();
  private readonly pacer: Pacer;

  constructor(
    private currentEpoch: string,
    private readonly batchSize: number,
    batchMs: number,
    private readonly emit: (batch: SharedBatch) => void,
  ) {
    this.pacer = new Pacer(batchMs, () => this.flush());
  }

  get epoch(): string {
    return this.currentEpoch;
  }

  /** The sequence number of the newest event appended. */
  get lastSeq(): number {
    return this.seq;
  }

  /** Appends an event already given its place in the global order; a new epoch starts a new batch. Returns its id. */
  append(epoch: string, seq: number, item: PublishItem): string {
    if (epoch !== this.currentEpoch) {
      this.flush();
      this.currentEpoch = epoch;
    }
    const id = formatId(epoch, seq);
    this.appendEncoded(seq, item.topic, encodePublished(id, item));
    return id;
  }

  /** Appends events already numbered and encoded, in this epoch. */
  appendRun(run: SequencedRun): void {
    const marks = run.keys;
    if (marks === undefined) {
      for (let i = 0; i < run.bytes.length; i++) this.appendEncoded(run.firstSeq + i, run.topics[i]!, run.bytes[i]!);
      return;
    }
    // a key goes in the batch that holds its last event (a run may be split between batches)
    let m = 0;
    for (let i = 0; i < run.bytes.length; i++) {
      const mark = marks[m]?.[0] === i ? marks[m++] : undefined;
      this.appendEncoded(run.firstSeq + i, run.topics[i]!, run.bytes[i]!, mark);
    }
  }

  /** Appends an event already numbered and encoded, in this epoch. */
  appendEncoded(seq: number, topic: string, bytes: Uint8Array, mark?: KeyMark): void {
    this.seq = seq;
    this.builder.add(seq, topic, bytes, mark);
    if (this.builder.size >= this.batchSize) this.flush();
    else this.pacer.schedule();
  }

  /** Seals the current batch now (also used before shutdown so nothing accepted stays unsent). */
  flush(): void {
    if (this.builder.size === 0) return;
    this.pacer.fired();
    this.emit(this.builder.seal(this.currentEpoch));
  }
}
