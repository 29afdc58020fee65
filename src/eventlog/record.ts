// The bytes of one log record, and nothing else (no I/O). A record is
//   [u32 MAGIC][u32 payload length][u32 CRC-32 of payload][payload]
// payload = [u8 kind][3 × u8 0][u32 header length][header: JSON][body]
// A batch record's body is the batch's shared buffer as the shards read it (batch-layout.ts), so
// writing costs one copy into the file and recovery one copy back, never a re-encode. The magic lets
// a reader that met a damaged record find the next good one.
import { crc32 } from 'node:zlib';
import type { KeyMark } from '../sequencing/batch-layout.js';

export const MAGIC = 0x4c455353; // "SSEL" little-endian
export const FRAME_BYTES = 12;
/** Larger than any batch (BATCH_SIZE × MAX_PUBLISH_BYTES is 4 GiB in theory; a length past this is damage) */
export const MAX_PAYLOAD = 1 << 30;

export const KIND = { BATCH: 1, EPOCH: 2 } as const;

/** A batch of events as stored: the header fields, then the batch-layout bytes. */
export interface BatchHeader {
  /** epoch */
  e: string;
  /** first sequence number */
  s: number;
  /** event count */
  n: number;
  /** the batch's topic dictionary */
  t: string[];
  /** when it was written (ms since the epoch), for HISTORY_MAX_AGE and IDEMPOTENCY_WINDOW */
  at: number;
  /** idempotency keys whose publish this batch completes (absent: none) */
  k?: KeyMark[];
}

/** A history begins: its epoch, the last number before its first event, and the epochs it continues. */
export interface EpochHeader {
  e: string;
  /** the newest sequence number before this epoch's first event */
  s: number;
  /** earlier epochs whose ids still name events here: [epoch, last seq that survived in it] */
  after: [string, number][];
}

export type Decoded =
  | { kind: typeof KIND.BATCH; header: BatchHeader; body: Uint8Array }
  | { kind: typeof KIND.EPOCH; header: EpochHeader; body: Uint8Array };

/** The record as two parts, frame and header then body, written together (writev) so the body is never copied. */
export function encodeRecord(kind: number, header: object, body: Uint8Array = new Uint8Array(0)): [Buffer, Uint8Array] {
  const head = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.allocUnsafe(FRAME_BYTES + 8 + head.length);
  prefix.writeUInt32LE(MAGIC, 0);
  prefix.writeUInt32LE(8 + head.length + body.length, 4);
  prefix.writeUInt32LE(kind, 12);
  prefix.writeUInt32LE(head.length, 16);
  head.copy(prefix, 20);
  prefix.writeUInt32LE(crc32(body, crc32(prefix.subarray(FRAME_BYTES))), 8);
  return [prefix, body];
}

export type ReadResult =
  | { ok: true; record: Decoded; next: number }
  /** `torn`: the file ends inside this record; `bad`: the bytes there are not a valid record */
  | { ok: false; why: 'torn' | 'bad' };

/** The record at `at`. */
export function readRecord(buf: Uint8Array, at: number): ReadResult {
  if (buf.length - at < FRAME_BYTES) return { ok: false, why: 'torn' };
  const view = new DataView(buf.buffer, buf.byteOffset + at, FRAME_BYTES);
  if (view.getUint32(0, true) !== MAGIC) return { ok: false, why: 'bad' };
  const length = view.getUint32(4, true);
  if (length < 8 || length > MAX_PAYLOAD) return { ok: false, why: 'bad' };
  const end = at + FRAME_BYTES + length;
  if (end > buf.length) return { ok: false, why: 'torn' };
  const payload = buf.subarray(at + FRAME_BYTES, end);
  if (crc32(payload) !== view.getUint32(8, true)) return { ok: false, why: 'bad' };
  const pview = new DataView(payload.buffer, payload.byteOffset, 8);
  const kind = pview.getUint32(0, true);
  const headLength = pview.getUint32(4, true);
  if (8 + headLength > payload.length || (kind !== KIND.BATCH && kind !== KIND.EPOCH)) return { ok: false, why: 'bad' };
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset + 8, headLength).toString('utf8'));
  } catch {
    return { ok: false, why: 'bad' };
  }
  return { ok: true, record: { kind, header, body: payload.subarray(8 + headLength) } as Decoded, next: end };
}

/** The next offset after `from` where a record starts, for resuming after damage (-1: none). */
export function nextMagic(buf: Uint8Array, from: number): number {
  const bytes = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(MAGIC);
  return bytes.indexOf(magic, from);
}
