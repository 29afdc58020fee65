// The durable log as the server holds it across a handover: written through a WriteAhead while this
// process owns it, released complete (synced, clean-shutdown marker, lock freed) when a new process
// takes over, and taken back if that process fails before it serves.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import { markClean } from '../eventlog/clean-marker.js';
import type { EventLog } from '../eventlog/event-log.js';
import { DataDirInUse, DirLock } from '../eventlog/lock.js';
import type { WriteAhead } from '../eventlog/write-ahead.js';
import type { Released } from './protocol.js';

/** How long a failed new process may hold the lock before the old one gives up taking the log back. */
const RETAKE_TIMEOUT_MS = 10_000;

export class OwnedLog {
  private writeAhead: WriteAhead | undefined;

  constructor(
    private readonly dir: string,
    private readonly open: () => EventLog,
    private readonly writeAheadFor: (log: EventLog) => WriteAhead,
    log: EventLog,
  ) {
    this.writeAhead = writeAheadFor(log);
  }

  submit(batch: SharedBatch): void {
    // intake stops before the release, so a batch after it is a fault to see, not to lose quietly
    if (this.writeAhead === undefined) throw new Error(`a batch (seq ${batch.firstSeq}) came after the event log was handed over`);
    this.writeAhead.submit(batch);
  }

  /** Before a handover stops intake: what the release leaves for the new owner to sync is the last milliseconds. */
  async syncAhead(): Promise<void> {
    await this.writeAhead?.syncAhead();
  }

  /**
   * Clean shutdown (the last batches written and synced, the marker) or `handover` (written, for
   * the new owner to sync); the lock freed (once).
   */
  close(handover = false): void {
    this.writeAhead?.close(handover);
    this.writeAhead = undefined;
  }

  /**
   * The new process did not take over. It wrote nothing (it publishes only once serving), and the
   * release left no marker: once its lock is free, the marker is written, so the history goes on
   * under the same epoch. Throws when the log is not where it was released.
   */
  async retake(released: Released): Promise<void> {
    const deadline = Date.now() + RETAKE_TIMEOUT_MS;
    for (;;) {
      try {
        const lock = DirLock.take(this.dir);
        markClean(this.dir, released.epoch);
        lock.release();
        break;
      } catch (err) {
        if (!(err instanceof DataDirInUse) || Date.now() > deadline) throw err;
        await sleep(50); // the failed process is still exiting
      }
    }
    const log = this.open();
    if (log.epoch !== released.epoch || log.lastSeq !== released.lastSeq) {
      log.close();
      throw new Error(`the log reopened at epoch ${log.epoch}, seq ${log.lastSeq}, not where it was released (${released.epoch}, ${released.lastSeq})`);
    }
    log.takeSeed(); // the shards still hold the history
    this.writeAhead = this.writeAheadFor(log);
  }
}
