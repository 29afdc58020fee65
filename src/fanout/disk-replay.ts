// A resume older than the shard's in-memory window: the batches it needs are read back from the
// segment files (LogIndex.read), one at a time as the socket takes the replay, then the in-memory
// replay goes on from where the disk part ends. A batch that cannot be read back (its segment
// deleted by retention meanwhile, or damaged) becomes a reset frame in its place, and so do numbers
// the log does not hold (damage skipped at start, a dead shard's numbers): never a silent gap.
import { lastSeqOf, type EventBatch } from '../sequencing/batch-layout.js';
import { formatId } from '../sequencing/event-ids.js';
import { encodeReset } from '../sequencing/sse-encoding.js';
import type { IndexedRecord, PlannedRead } from '../eventlog/log-index.js';
import { Replay, type ReplaySource } from './replay.js';

export class DiskReplay implements ReplaySource {
  private next_ = 0;
  private current: Replay | undefined;

  constructor(
    private readonly records: readonly PlannedRead[],
    private readonly afterSeq: number,
    /** the newest number read from disk: the memory replay has the rest */
    private readonly untilSeq: number,
    private readonly topics: ReadonlySet<string>,
    private readonly read: (r: IndexedRecord) => EventBatch | undefined,
    /** the epoch the stream's ids are in (a reset frame's id) */
    private readonly epoch: string,
    /** the in-memory part, after the disk part */
    private readonly then: ReplaySource | undefined,
    private readonly onRead: (events: number) => void = () => {},
  ) {}

  get done(): boolean {
    return this.diskDone && (this.then?.done ?? true);
  }

  next(maxBytes: number): Uint8Array | undefined {
    const pieces: Uint8Array[] = [];
    let size = 0;
    while (size < maxBytes) {
      if (this.current === undefined || this.current.done) {
        const r = this.records[this.next_++];
        if (r === undefined) break;
        const batch = 'lost' in r ? undefined : this.read(r);
        if (batch === undefined) {
          // its id moves the client past what cannot be replayed: a reconnect resumes after it
          const reset = encodeReset('history', formatId(this.epoch, 'lost' in r ? r.lost[1] : r.firstSeq + r.count - 1));
          pieces.push(reset);
          size += reset.length;
          continue;
        }
        // the last batch on disk may run into the window: the memory replay writes that part
        const upTo = lastSeqOf(batch) > this.untilSeq ? { ...batch, count: this.untilSeq - batch.firstSeq + 1 } : batch;
        this.current = new Replay([upTo], 0, 1, Math.max(this.afterSeq, batch.firstSeq - 1), this.topics, this.onRead);
      }
      const chunk = this.current.next(maxBytes - size);
      if (chunk === undefined) continue;
      pieces.push(chunk);
      size += chunk.length;
    }
    if (pieces.length > 0) return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, size);
    return this.then?.next(maxBytes);
  }

  private get diskDone(): boolean {
    return this.next_ >= this.records.length && (this.current?.done ?? true);
  }
}
