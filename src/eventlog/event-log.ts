// The durable event log of one server (DATA_DIR): every sealed batch, all topics together, appended
// to numbered segment files by the main thread before any shard sees it. Opening it takes the
// directory's lock, recovers what is there and decides the epoch: a clean shutdown left a marker and
// the history goes on under the same epoch; without it the unsynced tail may be gone, so a new epoch
// begins that continues the old one up to the last number that survived (ids past it are never
// reused: they get a reset frame). A handover reads it while its owner still writes it (preview,
// catchUp), then owns it once released.
// Long because those passes share the log's private state with opening and appending.
import { closeSync, ftruncateSync, mkdirSync, openSync, writevSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import { newEpoch } from '../sequencing/event-ids.js';
import { markClean, markedClean, syncDir, unmarkClean } from './clean-marker.js';
import { datasync, datasyncAsync } from './datasync.js';
import { retain, type RetentionLimits } from './retention.js';
import { DataDirError, DataDirInUse, DirLock } from './lock.js';
import { encodeRecord, KIND, type BatchHeader, type EpochHeader } from './record.js';
import type { KeyRecord } from '../sequencing/idempotency-table.js';
import type { IndexedRecord } from './log-index.js';
import { joinSegments, recover, segmentName, sharedBatch, type Recovered, type SegmentInfo, type StoredBatch } from './recovery.js';

export interface EventLogOptions extends RetentionLimits {
  dir: string;
  /** `fsync`: the caller syncs (WriteAhead, once per turn); `write`: synced here every `fsyncMs` */
  durability: 'write' | 'fsync';
  fsyncMs: number;
  segmentBytes: number;
  /** the newest events handed to the shards' memory at start (takeSeed); the rest is read from disk */
  seedEvents?: number;
}

/** Chained epochs kept: enough for any number of crashes within a retention window in practice. */
const MAX_CHAIN = 64;

export class EventLog {
  /** what the start-up should print: damage skipped, epoch decisions */
  readonly notes: string[];
  /** earlier epochs whose ids still resume here: epoch -> the last number that survived in it */
  readonly aliases: Map<string, number>;
  private currentEpoch: string;
  private openedAt: number;
  private seedBatches: StoredBatch[];
  private seedKeys: KeyRecord[];
  private seedIndex: IndexedRecord[];
  /** a handover's tail: the batches written between the read-only pass and the release */
  private tail: SharedBatch[] = [];
  /** a read-only pass, until own() */
  private found: Recovered | undefined;
  private lock: DirLock | undefined;
  private fd = -1;
  private active!: SegmentInfo;
  private dirty = false;
  private after: [string, number][];
  private newestSeq: number;
  private timer: NodeJS.Timeout | undefined;
  private segments: SegmentInfo[];
  /**
   * Retention deleted every segment before `oldest`: the shards' indexes must forget them now, not
   * with the next batch (on a quiet server there may be none for a long time).
   */
  onRetained: ((oldest: number) => void) | undefined;

  private constructor(
    private readonly opts: EventLogOptions,
    rec: Recovered,
  ) {
    this.segments = rec.segments;
    this.notes = rec.skipped;
    this.openedAt = this.newestSeq = rec.lastSeq;
    this.seedBatches = rec.batches;
    this.seedKeys = rec.keys;
    this.seedIndex = rec.index;
    this.currentEpoch = rec.epoch ?? newEpoch();
    this.after = rec.after;
    this.aliases = new Map(rec.after);
  }

  /** Creates DATA_DIR if needed, takes its lock and recovers it; DataDirError when it cannot. */
  static open(opts: EventLogOptions): EventLog {
    try {
      mkdirSync(opts.dir, { recursive: true });
    } catch (err) {
      throw new DataDirError(`DATA_DIR ${opts.dir} cannot be created: ${(err as Error).message}`);
    }
    const lock = DirLock.take(opts.dir);
    try {
      const rec = recover(opts.dir, opts.seedEvents ?? opts.maxEvents);
      const log = new EventLog(opts, rec);
      log.begin(lock, rec);
      return log;
    } catch (err) {
      lock.release();
      if (err instanceof DataDirError) throw err;
      throw new DataDirError(`DATA_DIR ${opts.dir} cannot be used: ${(err as Error).message}`);
    }
  }

  /**
   * A handover's first pass: the log of the live server that holds DATA_DIR, read without its lock
   * up to where it is writing, under that server's epoch. Nothing can be appended until own().
   */
  static preview(opts: EventLogOptions): EventLog {
    try {
      const rec = recover(opts.dir, opts.seedEvents ?? opts.maxEvents, { readOnly: true });
      const log = new EventLog(opts, rec);
      log.found = rec;
      return log;
    } catch (err) {
      throw new DataDirError(`DATA_DIR ${opts.dir} cannot be read: ${(err as Error).message}`);
    }
  }

  /** Before own(): reads, still without the lock, what the owner wrote since the last read (takeTail). */
  catchUp(): void {
    this.readOn(true);
  }

  /**
   * The owner released the log at `released` (synced, lock freed, no marker: its word is the
   * marker): takes the lock, reads what was written since the last read (takeTail, takeKeys) and
   * goes on in the same epoch. DataDirError, with nothing written and the lock freed, when the log
   * does not end there.
   */
  own(released: { epoch: string; lastSeq: number }): void {
    const lock = DirLock.take(this.opts.dir);
    try {
      const rec = this.readOn(false);
      if (rec.epoch !== released.epoch || rec.lastSeq !== released.lastSeq) {
        throw new DataDirError(`the log ends at epoch ${rec.epoch}, seq ${rec.lastSeq}, but it was released at epoch ${released.epoch}, seq ${released.lastSeq}`);
      }
      this.found = undefined;
      this.begin(lock, rec, true);
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  /** A handover's next pass: from where the last one stopped; its batches join the tail. */
  private readOn(readOnly: boolean): Recovered {
    const found = this.found;
    if (found === undefined) throw new Error('EventLog: a handover pass on a log already owned');
    const rec = recover(this.opts.dir, Infinity, { readOnly, after: found });
    // the shards started under the epoch read first: the log must go on in it
    if (rec.epoch !== this.currentEpoch) throw new DataDirError(`the log was read under epoch ${this.currentEpoch} and goes on under ${rec.epoch}`);
    this.notes.push(...rec.skipped);
    this.segments = joinSegments(this.segments, rec.segments, found.end.segment);
    this.openedAt = this.newestSeq = rec.lastSeq;
    this.seedKeys.push(...rec.keys);
    const oldest = this.segments[0]?.index ?? 0;
    rec.batches.forEach((b, i) => {
      const at = rec.index[i]!;
      this.tail.push({ ...sharedBatch(this.currentEpoch, b), stored: [at.segment, at.offset, at.length, oldest] });
    });
    this.found = rec;
    return rec;
  }

  get epoch(): string {
    return this.currentEpoch;
  }

  /** the newest sequence number stored when it was opened (or owned) */
  get lastSeq(): number {
    return this.openedAt;
  }

  /** Locked and recovered: decides the epoch (`handedOver`: the one released) and opens the newest segment for appending. */
  private begin(lock: DirLock, rec: Recovered, handedOver = false): void {
    this.lock = lock;
    const clean = markedClean(this.opts.dir);
    if (!handedOver && (!clean || rec.epoch === undefined)) {
      this.currentEpoch = newEpoch();
      if (rec.epoch !== undefined) {
        this.after = [...this.after, [rec.epoch, rec.lastSeq] as [string, number]].slice(-MAX_CHAIN);
        this.aliases.set(rec.epoch, rec.lastSeq);
        this.notes.push(`no clean shutdown recorded: new epoch ${this.currentEpoch} continues ${rec.epoch} up to ${rec.lastSeq}`);
      }
    }
    const last = this.segments.at(-1);
    const reuse = last !== undefined && last.bytes < this.opts.segmentBytes && this.currentEpoch === rec.epoch;
    this.active = reuse ? last : this.newSegment((last?.index ?? 0) + 1);
    this.fd = openSync(this.active.path, 'a');
    this.dirty = true; // a handover or a retake may leave what the last owner wrote unsynced: the first tick syncs it
    if (!reuse) this.writeEpoch();
    // From here a crash is unclean again.
    if (clean) unmarkClean(this.opts.dir);
    this.timer = setInterval(() => this.tick(), this.opts.durability === 'write' ? this.opts.fsyncMs : 1_000).unref();
  }

  /** The retained batches to seed the shards' history, under this epoch (ids in their bytes keep their own). Handed out once. */
  takeSeed(): SharedBatch[] {
    const out = this.seedBatches.map((b) => sharedBatch(this.epoch, b));
    this.seedBatches = [];
    return out;
  }

  /** After own(): the batches written since the read-only pass, with where they lie, for the shards. Handed out once. */
  takeTail(): SharedBatch[] {
    const out = this.tail;
    this.tail = [];
    return out;
  }

  /** Where every retained batch record lies, oldest first, for the shards' LogIndex. Handed out once. */
  takeIndex(): IndexedRecord[] {
    const out = this.seedIndex;
    this.seedIndex = [];
    return out;
  }

  /** The idempotency keys found in the retained segments, oldest first. Handed out once. */
  takeKeys(): KeyRecord[] {
    const out = this.seedKeys;
    this.seedKeys = [];
    return out;
  }

  /** Appends a batch (write(2) only: see sync). Throws when the write fails; nothing half-written stays. */
  append(batch: SharedBatch, at = Date.now()): void {
    const header: BatchHeader = { e: batch.epoch, s: batch.firstSeq, n: batch.count, t: batch.topics, at };
    if (batch.keys !== undefined) header.k = batch.keys;
    const parts = encodeRecord(KIND.BATCH, header, new Uint8Array(batch.buffer));
    const size = parts[0].length + parts[1].length;
    if (this.active.bytes > 0 && this.active.bytes + size > this.opts.segmentBytes) this.rotate();
    const offset = this.active.bytes;
    this.write(parts);
    // the shards index it from this, to replay it from disk once it has left their memory
    batch.stored = [this.active.index, offset, size, this.segments[0]!.index];
    this.active.events += batch.count;
    this.active.lastSeq = this.newestSeq = batch.firstSeq + batch.count - 1;
    this.active.newestAt = at;
    this.dirty = true;
  }

  /**
   * A handover's sync ahead, off the event loop so publishes go on meanwhile: what the segment being
   * written holds so far reaches the disk (through a descriptor of its own: appends and rotation go
   * on with theirs; older segments were synced when they were closed).
   */
  async syncAhead(): Promise<void> {
    const file = await openFile(this.active.path, 'r');
    try {
      await datasyncAsync(file);
    } finally {
      await file.close();
    }
  }

  /** fdatasync of what was appended; throws on an I/O error. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    datasync(this.fd);
  }

  /**
   * Clean shutdown: everything synced, then the marker that lets the next start keep this epoch.
   * A handover needs neither, and its publishes wait for it: the new owner reads the page cache,
   * goes on in the epoch it is told, and syncs at its first tick (a crash before that is an
   * unclean start, as it should be).
   */
  close(handover = false): void {
    clearInterval(this.timer);
    if (!handover) datasync(this.fd);
    closeSync(this.fd);
    if (!handover) markClean(this.opts.dir, this.epoch);
    this.lock?.release();
  }

  /** Bytes on disk, all segments. */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  private write(parts: Uint8Array[]): void {
    const size = parts.reduce((n, p) => n + p.length, 0);
    try {
      let done = writevSync(this.fd, parts);
      // A short write (disk filling up) is finished or fails below: a record is whole or absent.
      while (done < size) done += writevSync(this.fd, [Buffer.concat(parts).subarray(done)]);
    } catch (err) {
      try {
        ftruncateSync(this.fd, this.active.bytes);
      } catch {
        // the length check at the next start cuts it instead
      }
      throw err;
    }
    this.active.bytes += size;
  }

  private rotate(): void {
    datasync(this.fd);
    closeSync(this.fd);
    this.active = this.newSegment(this.active.index + 1);
    this.fd = openSync(this.active.path, 'a');
    this.writeEpoch();
    this.applyRetention();
  }

  /**
   * Each segment starts with the epoch record in force, so retention never deletes the only copy of
   * the chain; a new epoch's record is synced before any of its events is written.
   */
  private writeEpoch(): void {
    this.write(encodeRecord(KIND.EPOCH, { e: this.epoch, s: this.newestSeq, after: this.after } satisfies EpochHeader));
    datasync(this.fd);
    syncDir(this.opts.dir);
  }

  private newSegment(index: number): SegmentInfo {
    const info: SegmentInfo = { index, path: join(this.opts.dir, segmentName(index)), bytes: 0, events: 0, lastSeq: 0, newestAt: 0 };
    this.segments.push(info);
    return info;
  }

  private tick(): void {
    if (this.opts.durability === 'write') {
      try {
        this.sync();
      } catch (err) {
        // as in WriteAhead: after a failed fdatasync only a restart knows what is on disk
        console.error(`event log: fdatasync failed, stopping: ${(err as Error).message}`);
        process.exit(1);
      }
    }
    this.applyRetention();
  }

  /** Retention (run by each rotation and the 1 s tick; the stores bench times it), and the shards told at once when it deleted segments. */
  applyRetention(): void {
    const before = this.segments[0]!.index;
    retain(this.segments, this.opts, this.newestSeq);
    if (this.segments[0]!.index !== before) this.onRetained?.(this.segments[0]!.index);
  }
}

export { DataDirError, DataDirInUse };
