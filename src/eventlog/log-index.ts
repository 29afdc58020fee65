// Where each retained batch lies in the segment files, kept by every shard so a resume older than its
// in-memory window (HISTORY_SIZE events, all topics together) is replayed from disk, read-only. Built
// without reading the files: recovery hands over the records it found, and each later batch comes
// with its place (`SharedBatch.stored`, set by the writer). Per segment, the union of its batches'
// topics: a resume on a quiet topic skips every segment without it, then every batch without it.
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { batchFromShared, type EventBatch, type SharedBatch } from '../sequencing/batch-layout.js';
import { KIND, readRecord } from './record.js';
import { segmentName } from './recovery.js';

/** A batch record's place: [segment, byte offset, byte length, the oldest segment still retained]. */
export type StoredAt = [segment: number, offset: number, length: number, oldest: number];

export interface IndexedRecord {
  segment: number;
  offset: number;
  length: number;
  firstSeq: number;
  count: number;
  topics: readonly string[];
}

/** What a replay from disk reads: a record, or numbers the log does not hold (damage skipped at start, a dead shard's numbers). */
export type PlannedRead = IndexedRecord | { lost: [from: number, to: number] };

interface Segment {
  index: number;
  /** its records in `records`, from `from` on */
  from: number;
  firstSeq: number;
  lastSeq: number;
  topics: Set<string>;
  /** breaks between its records: numbers it does not hold */
  gaps: [from: number, to: number][];
}

export class LogIndex {
  private records: IndexedRecord[] = [];
  private segments: Segment[] = [];
  /** open read-only, while the segment is retained: a file deleted meanwhile stays readable */
  private readonly fds = new Map<number, number>();

  constructor(private readonly dir: string) {}

  /** Records oldest first, as the log holds them. */
  add(r: IndexedRecord): void {
    let seg = this.segments.at(-1);
    if (seg === undefined || seg.index !== r.segment) {
      seg = { index: r.segment, from: this.records.length, firstSeq: r.firstSeq, lastSeq: r.firstSeq - 1, topics: new Set(), gaps: [] };
      this.segments.push(seg);
    }
    if (r.firstSeq <= seg.lastSeq) return; // never: numbers only grow
    if (r.firstSeq > seg.lastSeq + 1 && seg.lastSeq >= seg.firstSeq) seg.gaps.push([seg.lastSeq + 1, r.firstSeq - 1]);
    seg.lastSeq = r.firstSeq + r.count - 1;
    for (const t of r.topics) seg.topics.add(t);
    this.records.push(r);
  }

  /** A delivered batch: indexed when the log stored it, and segments retention deleted are forgotten (if not already). */
  addStored(batch: SharedBatch): void {
    if (batch.stored === undefined) return;
    const [segment, offset, length, oldest] = batch.stored;
    this.forgetBefore(oldest);
    this.add({ segment, offset, length, firstSeq: batch.firstSeq, count: batch.count, topics: batch.topics });
  }

  get all(): readonly IndexedRecord[] {
    return this.records;
  }

  /**
   * What to read for the events after `afterSeq` up to `untilSeq` on `topics`, oldest first, with
   * the numbers in between that the log does not hold (whatever their topics: a reset each);
   * undefined when retention has deleted where the range starts.
   */
  plan(afterSeq: number, untilSeq: number, topics: ReadonlySet<string>): PlannedRead[] | undefined {
    const out: PlannedRead[] = [];
    let expected = afterSeq + 1;
    const lost = (from: number, to: number): void => {
      const a = Math.max(from, expected);
      const b = Math.min(to, untilSeq);
      if (a <= b) out.push({ lost: [a, b] });
    };
    if (this.segments.length === 0 || this.segments[0]!.firstSeq > expected) return undefined;
    for (let s = this.segments.findIndex((seg) => seg.lastSeq >= expected); s !== -1 && s < this.segments.length && expected <= untilSeq; s++) {
      const seg = this.segments[s]!;
      lost(expected, seg.firstSeq - 1);
      if (![...topics].some((t) => seg.topics.has(t))) {
        for (const [from, to] of seg.gaps) lost(from, to);
      } else {
        const end = this.segments[s + 1]?.from ?? this.records.length;
        let next = seg.firstSeq;
        for (let i = seg.from; i < end; i++) {
          const r = this.records[i]!;
          lost(next, r.firstSeq - 1);
          next = r.firstSeq + r.count;
          if (next - 1 <= afterSeq || r.firstSeq > untilSeq) continue;
          if (r.topics.some((t) => topics.has(t))) out.push(r);
        }
      }
      expected = Math.max(expected, seg.lastSeq + 1);
    }
    lost(expected, untilSeq);
    return out;
  }

  /** The batch a record holds, checked (CRC), or undefined when it cannot be read back. */
  read(r: IndexedRecord): EventBatch | undefined {
    try {
      let fd = this.fds.get(r.segment);
      if (fd === undefined) this.fds.set(r.segment, (fd = openSync(join(this.dir, segmentName(r.segment)), 'r')));
      const buf = Buffer.allocUnsafe(r.length);
      if (readSync(fd, buf, 0, r.length, r.offset) !== r.length) return undefined;
      const got = readRecord(buf, 0);
      if (!got.ok || got.record.kind !== KIND.BATCH || got.record.header.s !== r.firstSeq) return undefined;
      // the batch layout's u32 arrays need an aligned buffer of their own
      const buffer = new SharedArrayBuffer(got.record.body.length);
      new Uint8Array(buffer).set(got.record.body);
      return batchFromShared({ epoch: got.record.header.e, firstSeq: r.firstSeq, count: r.count, topics: got.record.header.t, buffer });
    } catch {
      return undefined;
    }
  }

  /** Retention deleted every segment before `oldest`: resumes from ids in them get a reset from now on. */
  forgetBefore(oldest: number): void {
    let drop = 0;
    while (drop < this.segments.length && this.segments[drop]!.index < oldest) {
      const fd = this.fds.get(this.segments[drop]!.index);
      if (fd !== undefined) closeSync(fd);
      this.fds.delete(this.segments[drop]!.index);
      drop++;
    }
    if (drop === 0) return;
    const cut = this.segments[drop]?.from ?? this.records.length;
    this.segments = this.segments.slice(drop).map((seg) => ({ ...seg, from: seg.from - cut }));
    this.records = this.records.slice(cut);
  }
}
