// Encode-once gzip: the subscribers of one group (same topic set) share one long-lived raw deflate
// context, so each pass's bytes are compressed once for all of them, not once per connection.
//
// The rules that keep every subscriber's bytes a valid deflate stream:
// - every chunk ends with a sync flush (an empty stored block): it ends on a byte boundary and
//   leaves at once, and any deflate data may follow it;
// - a subscriber "in step" has received exactly the shared context's output since its last reset;
//   only such a subscriber may receive the next shared chunk, whose back-references point into it;
// - a subscriber that is out of step (just joined with its own head/replay, dropped events, got a
//   heartbeat the others did not) gets its bytes from a context reset before each use: output that
//   refers to nothing before it is valid after any sync-flushed point;
// - the shared context is reset (history cleared: a full flush without its marker bytes) before a
//   chunk when out-of-step members wait and FULL_FLUSH_MS or FULL_FLUSH_BYTES passed since the last
//   reset; that chunk refers to nothing before it, so every member given its input joins.
// The gzip header is per connection; the trailer's CRC-32 is each subscriber's own, combined from
// the CRC of every chunk (computed once per chunk) in O(log length).
import zlib from 'node:zlib';
import { crc32, crc32CombineShifted, crc32Shift } from './crc32.js';
import { compressAlone, newDeflate, zlibSync, type SyncDeflate } from './deflate-sync.js';

const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;

export interface GzipTuning {
  /** zlib level of the shared contexts (1-9) */
  level: number;
  /** an out-of-step member waits at most this long for a reset it can join at (ms) */
  fullFlushMs: number;
  /** ... or until this many bytes went through the shared context since the last reset */
  fullFlushBytes: number;
  now(): number;
}

export const GZIP_TUNING: GzipTuning = {
  level: 6,
  fullFlushMs: 250,
  fullFlushBytes: 65_536,
  now: () => performance.now(),
};

/** The 10-byte gzip member header: deflate, no name, no mtime, OS unknown. */
export const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final block (fixed Huffman, end-of-block): ends the deflate stream after a sync flush. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

interface Chunk {
  readonly input: Uint8Array;
  readonly output: Buffer;
  readonly crc: number;
  /** crc32Shift(input.length): advancing a subscriber's CRC by this chunk is one multiplication */
  readonly shift: number;
  /** the context was reset before it: it refers to nothing before, anyone given `input` may join */
  readonly fresh: boolean;
}

export interface GzipStats {
  /** bytes compressed by a shared context (once per group) */
  shared(inputBytes: number): void;
  /** bytes compressed for one out-of-step subscriber */
  alone(inputBytes: number): void;
}

const NO_STATS: GzipStats = { shared() {}, alone() {} };

export class GzipGroup {
  /** chunks produced by the shared context so far */
  gen = 0;
  last: Chunk | undefined;
  /** members */
  refs = 0;
  /** members out of step, waiting for a reset */
  waiting = 0;
  private ctx: SyncDeflate | undefined;
  private lastResetAt = -Infinity;
  private bytesSinceReset = 0;

  constructor(
    readonly tuning: GzipTuning,
    readonly stats: GzipStats,
    /** the last member left (one callback per group, not per member: idle members stay small) */
    readonly onEmpty: () => void = () => {},
  ) {}

  resetDue(): boolean {
    return this.waiting > 0 && (this.bytesSinceReset >= this.tuning.fullFlushBytes || this.tuning.now() - this.lastResetAt >= this.tuning.fullFlushMs);
  }

  produce(input: Uint8Array, reset: boolean): Chunk {
    if (this.ctx === undefined) {
      this.ctx = newDeflate(this.tuning.level);
      reset = true; // a new context refers to nothing either
    } else if (reset) this.ctx.reset();
    if (reset) {
      this.lastResetAt = this.tuning.now();
      this.bytesSinceReset = 0;
    }
    this.bytesSinceReset += input.length;
    this.gen++;
    this.stats.shared(input.length);
    return (this.last = { input, output: zlibSync(this.ctx, input, Z_SYNC_FLUSH), crc: crc32(input), shift: crc32Shift(input.length), fresh: reset });
  }

  alone(input: Uint8Array): Buffer {
    this.stats.alone(input.length);
    return compressAlone(input, this.tuning.level);
  }

  close(): void {
    this.ctx?.close();
    this.ctx = undefined;
    this.last = undefined;
  }
}

/** How a subscriber's queue turns the bytes it is given into wire bytes (identity when absent). */
export interface WireCodec {
  /** the wire bytes for `raw`, which will be written after everything encoded before */
  encode(raw: Uint8Array): Uint8Array;
  /** the bytes of the last encode() will not be written */
  discard(): void;
}

/** One gzip subscriber: its place in its group's shared stream, and its own CRC-32 and length. */
export class GzipEncoder implements WireCodec {
  /** the shared chunk it received last; -1: out of step */
  private gen = -1;
  private crc = 0;
  private size = 0;
  /** CRC and length before the last encode, for discard() (fields, not an object: no allocation per write) */
  private undoCrc = 0;
  private undoSize = -1;
  private closed = false;

  constructor(private readonly group: GzipGroup) {
    group.refs++;
    group.waiting++;
  }

  /** received the shared stream (observability, tests) */
  get inStep(): boolean {
    return this.gen >= 0;
  }

  /** The first bytes of the response: the gzip header, then `raw` compressed. */
  open(raw: Uint8Array): Uint8Array {
    return Buffer.concat([GZIP_HEADER, this.encode(raw)]);
  }

  encode(raw: Uint8Array): Uint8Array {
    if (raw.length === 0) {
      this.undoSize = -1; // nothing to take back
      return raw;
    }
    const g = this.group;
    this.undoCrc = this.crc;
    this.undoSize = this.size;
    const last = g.last;
    let chunk: Chunk | undefined;
    if (this.gen >= 0 && this.gen === g.gen) chunk = g.produce(raw, g.resetDue()); // at the head: the next shared chunk
    else if (last !== undefined && raw === last.input && (last.fresh || (this.gen >= 0 && this.gen === g.gen - 1))) chunk = last;
    else if (this.gen < 0 && g.waiting === g.refs && g.resetDue()) chunk = g.produce(raw, true); // nobody in step: start afresh
    let out: Uint8Array;
    if (chunk !== undefined) {
      if (this.gen < 0) g.waiting--;
      this.gen = g.gen;
      out = chunk.output;
      this.crc = crc32CombineShifted(this.crc, chunk.crc, chunk.shift);
    } else {
      this.leaveStep();
      out = g.alone(raw);
      this.crc = crc32(raw, this.crc);
    }
    this.size += raw.length;
    return out;
  }

  discard(): void {
    if (this.undoSize < 0) return;
    this.crc = this.undoCrc;
    this.size = this.undoSize;
    this.undoSize = -1;
    this.leaveStep(); // the shared context went on without it
  }

  /** The bytes that end the gzip member: a final empty block, CRC-32 and length of what it received. */
  trailer(): Uint8Array {
    const t = Buffer.alloc(10);
    FINAL_BLOCK.copy(t, 0);
    t.writeUInt32LE(this.crc >>> 0, 2);
    t.writeUInt32LE(this.size % 2 ** 32, 6);
    return t;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.gen < 0) this.group.waiting--;
    if (--this.group.refs === 0) this.group.onEmpty();
  }

  private leaveStep(): void {
    if (this.gen >= 0) this.group.waiting++;
    this.gen = -1;
  }
}

/** One shard's gzip groups, keyed like the hub's groups by topic set; a group ends with its last member. */
export class GzipGroups {
  private readonly groups = new Map<string, GzipGroup>();

  constructor(
    private readonly tuning: GzipTuning = GZIP_TUNING,
    private readonly stats: GzipStats = NO_STATS,
  ) {}

  get size(): number {
    return this.groups.size;
  }

  encoder(topics: Iterable<string>): GzipEncoder {
    const key = [...topics].sort().join(',');
    let group = this.groups.get(key);
    if (group === undefined) {
      const g: GzipGroup = new GzipGroup(this.tuning, this.stats, () => {
        g.close();
        this.groups.delete(key);
      });
      this.groups.set(key, (group = g));
    }
    return new GzipEncoder(group);
  }
}
