// The durable event log of one server (DATA_DIR): every sealed batch, all topics together, appended
// to numbered segment files by the main thread before any shard sees it. Opening it takes the
// directory's lock, recovers what is there and decides the epoch: a clean shutdown left a marker and
// the history goes on under the same epoch; without it the unsynced tail may be gone, so a new epoch
// begins that continues the old one up to the last number that survived (ids past it are never
// reused: they get a reset frame).
import { closeSync, existsSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, unlinkSync, writeFileSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import { newEpoch } from '../sequencing/event-ids.js';
import { DataDirError, DataDirInUse, DirLock } from './lock.js';
import { encodeRecord, KIND, type BatchHeader, type EpochHeader } from './record.js';
import type { KeyRecord } from '../sequencing/idempotency-table.js';
import type { IndexedRecord } from './log-index.js';
import { recover, segmentName, type SegmentInfo, type StoredBatch } from './recovery.js';

export interface EventLogOptions {
  dir: string;
  /** `fsync`: the caller syncs (WriteAhead, once per turn); `write`: synced here every `fsyncMs` */
  durability: 'write' | 'fsync';
  fsyncMs: number;
  segmentBytes: number;
  /** retention: events (HISTORY_SIZE), age (ms, 0: none), bytes (0: none), whichever first */
  maxEvents: number;
  maxAgeMs: number;
  maxBytes: number;
  /** the newest events handed to the shards' memory at start (takeSeed); the rest is read from disk */
  seedEvents?: number;
}

const CLEAN = 'clean-shutdown';

/**
 * fdatasync calls on the log's files (segments and directory) in this process, whichever EventLog
 * made them (a handover that fails reopens the log): sse_event_log_fsyncs_total.
 */
let syncCount = 0;
export const logSyncs = (): number => syncCount;

function datasync(fd: number): void {
  syncCount++;
  fdatasyncSync(fd);
}
/** Chained epochs kept: enough for any number of crashes within a retention window in practice. */
const MAX_CHAIN = 64;

export class EventLog {
  readonly epoch: string;
  /** the newest sequence number stored when it opened */
  readonly lastSeq: number;
  /** earlier epochs whose ids still resume here: epoch -> the last number that survived in it */
  readonly aliases: Map<string, number>;
  /** what the start-up should print: damage skipped, epoch decisions */
  readonly notes: string[];
  private seedBatches: StoredBatch[];
  private seedKeys: KeyRecord[];
  private seedIndex: IndexedRecord[];
  private fd: number;
  private active: SegmentInfo;
  private dirty = false;
  private readonly after: [string, number][];
  private newestSeq: number;
  private readonly timer: NodeJS.Timeout;
  /**
   * Retention deleted every segment before `oldest`: the shards' indexes must forget them now, not
   * with the next batch (on a quiet server there may be none for a long time).
   */
  onRetained: ((oldest: number) => void) | undefined;

  private constructor(
    private readonly opts: EventLogOptions,
    private readonly lock: DirLock,
    private readonly segments: SegmentInfo[],
  ) {
    const rec = recover(opts.dir, opts.seedEvents ?? opts.maxEvents);
    this.notes = rec.skipped;
    this.segments.push(...rec.segments);
    this.lastSeq = rec.lastSeq;
    this.seedBatches = rec.batches;
    this.seedKeys = rec.keys;
    this.seedIndex = rec.index;
    const clean = existsSync(join(opts.dir, CLEAN));
    let after = rec.after;
    if (clean && rec.epoch !== undefined) {
      this.epoch = rec.epoch;
    } else {
      this.epoch = newEpoch();
      if (rec.epoch !== undefined) {
        after = [...after, [rec.epoch, rec.lastSeq] as [string, number]].slice(-MAX_CHAIN);
        this.notes.push(`no clean shutdown recorded: new epoch ${this.epoch} continues ${rec.epoch} up to ${rec.lastSeq}`);
      }
    }
    this.aliases = new Map(after);
    this.after = after;
    this.newestSeq = rec.lastSeq;
    const last = this.segments.at(-1);
    const reuse = last !== undefined && last.bytes < opts.segmentBytes && this.epoch === rec.epoch;
    this.active = reuse ? last : this.newSegment((last?.index ?? 0) + 1);
    this.fd = openSync(this.active.path, 'a');
    if (!reuse) this.writeEpoch();
    // From here a crash is unclean again.
    if (clean) unlinkSync(join(opts.dir, CLEAN));
    syncDir(opts.dir);
    this.timer = setInterval(() => this.tick(), opts.durability === 'write' ? opts.fsyncMs : 1_000).unref();
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
      return new EventLog(opts, lock, []);
    } catch (err) {
      lock.release();
      if (err instanceof DataDirError) throw err;
      throw new DataDirError(`DATA_DIR ${opts.dir} cannot be used: ${(err as Error).message}`);
    }
  }

  /** The retained batches to seed the shards' history, under this epoch (ids in their bytes keep their own). Handed out once. */
  takeSeed(): SharedBatch[] {
    const out = this.seedBatches.map(({ header, body }) => {
      const buffer = new SharedArrayBuffer(body.length);
      new Uint8Array(buffer).set(body);
      return { epoch: this.epoch, firstSeq: header.s, count: header.n, topics: header.t, buffer };
    });
    this.seedBatches = [];
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

  /** fdatasync of what was appended; throws on an I/O error. */
  sync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    datasync(this.fd);
  }

  /** Clean shutdown: everything synced, then the marker that lets the next start keep this epoch. */
  close(): void {
    clearInterval(this.timer);
    datasync(this.fd);
    closeSync(this.fd);
    markClean(this.opts.dir, this.epoch);
    this.lock.release();
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
    this.retain();
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
    this.retain();
  }

  /** Deletes whole segments, oldest first, while one of the limits says so; the one being written stays. */
  private retain(): void {
    const { maxEvents, maxAgeMs, maxBytes } = this.opts;
    const newest = this.newestSeq;
    let bytes = this.bytes;
    const before = this.segments[0]!.index;
    while (this.segments.length > 1) {
      const oldest = this.segments[0]!;
      const tooMany = oldest.lastSeq <= newest - maxEvents;
      const tooOld = maxAgeMs > 0 && oldest.newestAt < Date.now() - maxAgeMs;
      const tooBig = maxBytes > 0 && bytes > maxBytes;
      if (!tooMany && !tooOld && !tooBig) break;
      try {
        unlinkSync(oldest.path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          console.error(`event log: cannot delete ${oldest.path}: ${(err as Error).message}`);
          break;
        }
      }
      bytes -= oldest.bytes;
      this.segments.shift();
    }
    if (this.segments[0]!.index !== before) this.onRetained?.(this.segments[0]!.index);
  }
}

/**
 * The marker that lets the next start keep `epoch`: written by a clean close, and by a server that
 * takes its log back from a handover that failed (nothing was written after its own close).
 */
export function markClean(dir: string, epoch: string): void {
  writeFileSync(join(dir, CLEAN), `${epoch}\n`);
  syncDir(dir);
}

/** fsync of the directory: a file created, renamed or deleted survives power loss only after it. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    datasync(fd);
  } finally {
    closeSync(fd);
  }
}

export { DataDirError, DataDirInUse };
