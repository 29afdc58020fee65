// Reads a data directory's segments at start: every record is checked (CRC), a torn last record is
// cut off, damaged records elsewhere are skipped and reported, and what the server needs comes back:
// the newest epoch and its chain, the newest sequence number, and the newest batches to seed history.
import { closeSync, existsSync, fstatSync, ftruncateSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import { formatId } from '../sequencing/event-ids.js';
import type { KeyRecord } from '../sequencing/idempotency-table.js';
import type { IndexedRecord } from './log-index.js';
import { KIND, nextMagic, readRecord, type BatchHeader } from './record.js';

const SEGMENT = /^(\d{12})\.seg$/;

export function segmentName(index: number): string {
  return `${String(index).padStart(12, '0')}.seg`;
}

/** What the log holds per segment file: enough for retention without reading it again. */
export interface SegmentInfo {
  index: number;
  path: string;
  bytes: number;
  events: number;
  /** newest sequence number in it (0: none) */
  lastSeq: number;
  /** when its newest batch was written (ms since the epoch; 0: none) */
  newestAt: number;
}

export interface StoredBatch {
  header: BatchHeader;
  /** the batch-layout bytes (ends, topic indexes, SSE bytes) */
  body: Uint8Array;
}

export interface Recovered {
  segments: SegmentInfo[];
  /** the newest epoch (undefined: an empty log) */
  epoch: string | undefined;
  /** the epochs the newest one continues, as its epoch record says */
  after: [string, number][];
  /** the newest sequence number stored */
  lastSeq: number;
  /** the newest batches holding at least `keepEvents` events, oldest first */
  batches: StoredBatch[];
  /** every batch record retained, where it lies, oldest first */
  index: IndexedRecord[];
  /** every idempotency key recorded in the retained segments, oldest first */
  keys: KeyRecord[];
  /** what was damaged and skipped, one line each, for the start-up log */
  skipped: string[];
  /** where reading stopped: the end of the last whole record, in the newest segment read */
  end: { segment: number; offset: number };
}

/**
 * `readOnly`: the directory belongs to a live server that is still writing (a handover's first
 * pass): a record cut short at the end is one being written, left alone, and reading stops there.
 * `after`: what such a pass found; only what was written since is read (and returned).
 */
export interface RecoverOptions {
  readOnly?: boolean;
  after?: Recovered;
}

export function listSegments(dir: string): { index: number; path: string }[] {
  return readdirSync(dir)
    .map((name) => SEGMENT.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ index: Number(m[1]), path: join(dir, m[0]) }))
    .sort((a, b) => a.index - b.index);
}

export function recover(dir: string, keepEvents: number, { readOnly = false, after }: RecoverOptions = {}): Recovered {
  const from = after?.end ?? { segment: 0, offset: 0 };
  const out: Recovered = {
    segments: [],
    epoch: after?.epoch,
    after: after?.after ?? [],
    lastSeq: after?.lastSeq ?? 0,
    batches: [],
    index: [],
    keys: [],
    skipped: [],
    end: from,
  };
  let kept = 0;
  const files = listSegments(dir).filter(({ index }) => index >= from.segment);
  files.forEach(({ index, path }, fileNo) => {
    let at = index === from.segment ? from.offset : 0;
    const buf = readSegment(path, at);
    if (buf === undefined) return; // a live owner's retention deleted it since the listing
    const info: SegmentInfo = { index, path, bytes: buf.length, events: 0, lastSeq: 0, newestAt: 0 };
    while (at < buf.length) {
      const r = readRecord(buf, at);
      if (r.ok) {
        const offset = at;
        at = r.next;
        if (r.record.kind === KIND.EPOCH) {
          out.epoch = r.record.header.e;
          out.after = r.record.header.after;
          out.lastSeq = r.record.header.s;
          continue;
        }
        const h = r.record.header;
        if (h.e !== out.epoch) {
          // its epoch record is gone (damage): the batch still says whose it is
          out.epoch = h.e;
          out.after = [];
        }
        info.events += h.n;
        info.lastSeq = h.s + h.n - 1;
        info.newestAt = h.at;
        out.lastSeq = info.lastSeq;
        out.batches.push({ header: h, body: r.record.body });
        out.index.push({ segment: index, offset, length: r.next - offset, firstSeq: h.s, count: h.n, topics: h.t });
        if (h.k !== undefined) out.keys.push(...keysOf(h));
        kept += h.n;
        while (out.batches.length > 1 && kept - out.batches[0]!.header.n >= keepEvents) kept -= out.batches.shift()!.header.n;
        continue;
      }
      const resume = nextValid(buf, at + 1);
      const last = fileNo === files.length - 1;
      if (resume === -1 && last && readOnly) {
        info.bytes = at; // still being written: the next pass reads it from here
        break;
      }
      if (resume === -1 && last) {
        // A record cut short by a crash or power loss: it was never answered nor delivered whole.
        cutTail(path, at);
        info.bytes = at;
        if (at < buf.length) out.skipped.push(`${path}: cut a torn last record at byte ${at} (${buf.length - at} bytes)`);
        break;
      }
      const to = resume === -1 ? buf.length : resume;
      out.skipped.push(`${path}: skipped damaged bytes ${at} to ${to} (${r.why === 'torn' ? 'truncated record' : 'checksum or framing'})`);
      at = to;
    }
    out.segments.push(info);
    out.end = { segment: index, offset: info.bytes };
  });
  return out;
}

/** A stored batch as the shards take it, under `epoch` (ids in its bytes keep their own). */
export function sharedBatch(epoch: string, { header, body }: StoredBatch): SharedBatch {
  const buffer = new SharedArrayBuffer(body.length);
  new Uint8Array(buffer).set(body);
  return { epoch, firstSeq: header.s, count: header.n, topics: header.t, buffer };
}

/** The read-only pass's segments, those still there, with the tail's: `cut`, the one both read part of. */
export function joinSegments(first: SegmentInfo[], tail: SegmentInfo[], cut: number): SegmentInfo[] {
  const kept = first.filter((s) => s.index < cut && existsSync(s.path));
  const before = first.find((s) => s.index === cut);
  return [
    ...kept,
    ...tail.map((s) =>
      s.index !== cut || before === undefined
        ? s
        : { ...s, events: before.events + s.events, lastSeq: s.lastSeq || before.lastSeq, newestAt: s.newestAt || before.newestAt },
    ),
  ];
}

/** A segment's bytes from `from` on, at their offsets (those before were read by an earlier pass). */
function readSegment(path: string, from: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.allocUnsafe(size);
    let at = from;
    for (let n = 1; at < size && n > 0; at += n) n = readSync(fd, buf, at, size - at, at);
    return buf.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}

/** A batch's keys with their ids: a key's events end at its mark and are consecutive. */
function keysOf(h: BatchHeader): KeyRecord[] {
  return (h.k ?? []).map(([last, count, key, hash]) => ({
    key,
    hash,
    ids: Array.from({ length: count }, (_, i) => formatId(h.e, h.s + last - count + 1 + i)),
    at: h.at,
  }));
}

/** The next offset after `from` where a whole, valid record starts (-1: none). */
function nextValid(buf: Uint8Array, from: number): number {
  for (let at = nextMagic(buf, from); at !== -1; at = nextMagic(buf, at + 1)) if (readRecord(buf, at).ok) return at;
  return -1;
}

function cutTail(path: string, length: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, length);
  } finally {
    closeSync(fd);
  }
}
