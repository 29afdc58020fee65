// The event log on an ordered key-value store (LMDB, LevelDB): one key per event (`e`+seq: its SSE
// bytes) and one per event in its topic's index (`t`+topic+0+seq: empty), written together, one
// atomic write per batch. A quiet topic's resume reads its index range, then those events; retention
// clears the oldest events' range and each topic's (found by skipping from one topic to the next).
import { FIXED_EPOCH, keys, type Batch, type Store } from './store.js';

export interface Range {
  gte: Buffer;
  lt: Buffer;
  reverse?: boolean;
  limit?: number;
}

/** What a store driver offers: the few calls the schema above needs. */
export interface Kv {
  /** every pair in one atomic write, synced as the driver's mode says */
  write(pairs: [Buffer, Uint8Array][]): void | Promise<void>;
  keys(range: Range): Promise<Uint8Array[]>;
  values(range: Range): Promise<Uint8Array[]>;
  getMany(keys: Buffer[]): Promise<Uint8Array[]>;
  clear(range: Range): Promise<void>;
  /** gives freed space back to the file system, where the store can */
  reclaim?(): Promise<void>;
  close(): Promise<void>;
}

const EMPTY = new Uint8Array(0);
const TOPICS_END = Buffer.from('u');

export class KvStore implements Store {
  readonly epoch = FIXED_EPOCH;
  lastSeq = 0;
  seeded = 0;
  readonly reclaim?: () => Promise<void>;

  private constructor(private readonly kv: Kv) {
    if (kv.reclaim) this.reclaim = () => kv.reclaim!();
  }

  /** Opens on `kv` as a start does: the newest sequence number, then the newest `seed` events read. */
  static async open(kv: Kv, seed: number): Promise<KvStore> {
    const s = new KvStore(kv);
    const [newest] = await kv.keys({ gte: keys.event(0), lt: keys.event(keys.MAX_SEQ), reverse: true, limit: 1 });
    s.lastSeq = newest === undefined ? 0 : keys.seqOf(newest);
    if (seed > 0) s.seeded = (await kv.values({ gte: keys.event(Math.max(0, s.lastSeq - seed + 1)), lt: keys.event(keys.MAX_SEQ) })).length;
    return s;
  }

  append(b: Batch): void | Promise<void> {
    const pairs: [Buffer, Uint8Array][] = [];
    for (const e of b.events) pairs.push([keys.event(e.seq), e.bytes], [keys.topic(e.topic, e.seq), EMPTY]);
    return this.kv.write(pairs);
  }

  async readTopic(topic: string, afterSeq: number): Promise<Uint8Array[]> {
    const marks = await this.kv.keys({ gte: keys.topic(topic, afterSeq + 1), lt: keys.topic(topic, keys.MAX_SEQ) });
    return this.kv.getMany(marks.map((k) => keys.event(keys.seqOf(k))));
  }

  async dropThrough(seq: number): Promise<void> {
    await this.kv.clear({ gte: keys.event(0), lt: keys.event(seq + 1) });
    for (const topic of await this.topics()) await this.kv.clear({ gte: keys.topic(topic, 0), lt: keys.topic(topic, seq + 1) });
  }

  close(): Promise<void> {
    return this.kv.close();
  }

  private async topics(): Promise<string[]> {
    const out: string[] = [];
    for (let from = Buffer.from('t'); ; ) {
      const [k] = await this.kv.keys({ gte: from, lt: TOPICS_END, limit: 1 });
      if (k === undefined) return out;
      const topic = keys.topicOf(k);
      out.push(topic);
      from = Buffer.concat([Buffer.from('t'), Buffer.from(topic), Buffer.from([1])]);
    }
  }
}
