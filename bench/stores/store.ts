// What the event-log stores bench (bench/eventlog-stores.ts) asks of each candidate, and the workload
// they all get: batches of SSE-encoded events, sealed exactly as the batcher seals them, so our log
// writes the shared buffer the shards read and the others write one row or key per event.
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BatchBuilder, type SharedBatch } from '../../src/sequencing/batch-layout.js';
import { formatId } from '../../src/sequencing/event-ids.js';
import { encodePublished } from '../../src/sequencing/sse-encoding.js';

/** `write`: durable against a process crash (the kernel has it); `fsync`: against power loss, one sync per batch. */
export type Mode = 'write' | 'fsync';

export interface StoredEvent {
  seq: number;
  topic: string;
  /** the event as SSE bytes (id, data), what a resume sends */
  bytes: Uint8Array;
}

export interface Batch {
  shared: SharedBatch;
  events: StoredEvent[];
  at: number;
  sseBytes: number;
}

export interface Store {
  /** the newest sequence number found when it opened (0: empty) */
  readonly lastSeq: number;
  /** events read at open to seed the shards' memory (the newest `seed`, as a start does) */
  readonly seeded: number;
  /** written as `mode` promises before it returns (or resolves): write-ahead of delivery */
  append(b: Batch): void | Promise<void>;
  /** the SSE bytes of the events on `topic` after `afterSeq`, oldest first */
  readTopic(topic: string, afterSeq: number): Promise<Uint8Array[]>;
  /** deletes the events up to `seq` (whole segments for ours: up to it, never past it) */
  dropThrough(seq: number): Promise<void>;
  /** what gives the freed disk space back to the file system, for stores that keep it (VACUUM, compaction) */
  reclaim?(): Promise<void>;
  close(): Promise<void>;
}

export interface Candidate {
  name: string;
  /** how each mode is configured, for the results file */
  settings: string;
  /** Opens (or creates) the store in `dir` as a start does, reading the newest `seed` events; `epoch`: what its ids carry (ours: the log's own). */
  open(dir: string, mode: Mode, seed: number): Promise<Store & { readonly epoch: string }>;
}

export const FIXED_EPOCH = '0123456789ab';
export const EVENTS_PER_BATCH = 256;
export const PAYLOAD_BYTES = 128;

// Random base64, not a repeated character: LevelDB compresses its blocks (snappy) and real payloads
// are not one letter; a pool cycled through keeps generation cheap.
const PAYLOADS = Array.from({ length: 1024 }, () => randomBytes((PAYLOAD_BYTES * 3) / 4).toString('base64'));

/** The batch holding `firstSeq`..`lastSeq` (at most EVENTS_PER_BATCH), each event on `topicOf(seq)`. */
export function makeBatch(epoch: string, firstSeq: number, lastSeq: number, topicOf: (seq: number) => string): Batch {
  const b = new BatchBuilder();
  const events: StoredEvent[] = [];
  let sseBytes = 0;
  for (let seq = firstSeq; seq <= lastSeq; seq++) {
    const bytes = encodePublished(formatId(epoch, seq), { data: PAYLOADS[seq % PAYLOADS.length]! });
    const topic = topicOf(seq);
    b.add(seq, topic, bytes);
    events.push({ seq, topic, bytes });
    sseBytes += bytes.length;
  }
  return { shared: b.seal(epoch), events, at: Date.now(), sseBytes };
}

/** Bytes the file system has allocated under `dir` (st_blocks): what retention can give back or not. */
export function allocatedBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? allocatedBytes(path) : statSync(path).blocks * 512;
  }
  return total;
}

/** Keys of a key-value store (LMDB, LevelDB): `e`+seq holds an event, `t`+topic+0+seq marks it in its topic. */
export const keys = {
  event(seq: number): Buffer {
    const k = Buffer.allocUnsafe(7);
    k[0] = 0x65; // 'e'
    k.writeUIntBE(seq, 1, 6);
    return k;
  },
  topic(topic: string, seq: number): Buffer {
    const name = Buffer.from(topic);
    const k = Buffer.allocUnsafe(name.length + 8);
    k[0] = 0x74; // 't'
    name.copy(k, 1);
    k[name.length + 1] = 0;
    k.writeUIntBE(seq, name.length + 2, 6);
    return k;
  },
  /** the sequence number at the end of either kind of key */
  seqOf(k: Uint8Array): number {
    return Buffer.from(k.buffer, k.byteOffset, k.length).readUIntBE(k.length - 6, 6);
  },
  /** the topic of a topic key */
  topicOf(k: Uint8Array): string {
    return Buffer.from(k.buffer, k.byteOffset + 1, k.length - 8).toString();
  },
  /** past every sequence number (6 bytes) */
  MAX_SEQ: 2 ** 48 - 1,
};
