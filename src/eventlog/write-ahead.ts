// Between the batcher and the shards: a batch is written to the log before any shard sees it. With
// DURABILITY=fsync the batches written in one event-loop turn share one fdatasync (group commit)
// and go to the shards after it. A write that fails (disk full, I/O error) holds that batch and every
// later one, in order, and retries until the disk takes them: no gap in the sequence, nothing
// half-written, publishes refused meanwhile (the caller's `onHealth`).
import type { SharedBatch } from '../sequencing/batch-layout.js';
import type { EventLog } from './event-log.js';

/** How often a failed write is tried again (ms). */
export const RETRY_MS = 500;

export class WriteAhead {
  /** written, waiting for the turn's fdatasync (DURABILITY=fsync) */
  private unsynced: SharedBatch[] = [];
  /** not written yet: the disk refused the first of them */
  private held: SharedBatch[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private failing = false;

  constructor(
    private readonly log: EventLog,
    private readonly syncEachTurn: boolean,
    private readonly deliver: (batch: SharedBatch) => void,
    private readonly onHealth: (writable: boolean) => void,
  ) {}

  submit(batch: SharedBatch): void {
    if (this.held.length > 0 || !this.tryWrite(batch)) {
      this.held.push(batch);
      return;
    }
    this.written(batch);
  }

  /** A handover: what is written so far, synced while publishes go on (EventLog.syncAhead). */
  syncAhead(): Promise<void> {
    return this.log.syncAhead();
  }

  /** Shutdown (or `handover`, EventLog.close): the last batches out, and the log closed unless some could not be written. */
  close(handover = false): void {
    this.syncAndDeliver();
    clearTimeout(this.retryTimer);
    if (this.held.length > 0) return console.error(`event log: ${this.held.length} batches could not be written; the next start is an unclean one`);
    this.log.close(handover);
  }

  private written(batch: SharedBatch): void {
    if (!this.syncEachTurn) return this.deliver(batch);
    if (this.unsynced.push(batch) === 1) setImmediate(() => this.syncAndDeliver());
  }

  private syncAndDeliver(): void {
    if (this.unsynced.length === 0) return;
    // A failed fdatasync leaves the kernel's pages in an unknown state (retrying can report success
    // for data that is gone): stop, and let the next start recover from what is on disk.
    try {
      this.log.sync();
    } catch (err) {
      console.error(`event log: fdatasync failed, stopping: ${(err as Error).message}`);
      process.exit(1);
    }
    const batches = this.unsynced;
    this.unsynced = [];
    for (const b of batches) this.deliver(b);
  }

  private tryWrite(batch: SharedBatch): boolean {
    try {
      this.log.append(batch);
      return true;
    } catch (err) {
      if (!this.failing) {
        this.failing = true;
        console.error(`event log: write failed, publishes answer 503 until it works again: ${(err as Error).message}`);
        this.onHealth(false);
      }
      this.retryTimer ??= setTimeout(() => this.retry(), RETRY_MS);
      return false;
    }
  }

  private retry(): void {
    this.retryTimer = undefined;
    while (this.held.length > 0) {
      if (!this.tryWrite(this.held[0]!)) return;
      this.written(this.held.shift()!);
    }
    this.failing = false;
    console.error('event log: writable again');
    this.onHealth(true);
  }
}
