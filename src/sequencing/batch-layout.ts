// A batch of sequenced events whose bytes live in one SharedArrayBuffer, so every shard reads the
// same memory: posting it to N workers shares it, where a transferred ArrayBuffer could reach one.
//
// Layout: [ends: u32 × count][topicIndex: u32 × count][SSE bytes], where event i spans
// bytes[ends[i-1] .. ends[i]) and belongs to topics[topicIndex[i]].

export interface EventBatch {
  readonly epoch: string;
  readonly firstSeq: number;
  readonly count: number;
  /** the distinct topics of this batch; a per-batch dictionary keeps per-event metadata numeric */
  readonly topics: readonly string[];
  readonly topicIndex: Uint32Array;
  readonly ends: Uint32Array;
  readonly bytes: Uint8Array;
  /** what it was read from, to hand on to another thread */
  readonly shared: SharedBatch;
}

/** What crosses a thread boundary: the shared buffer plus a few scalars, never a per-event clone. */
export interface SharedBatch {
  epoch: string;
  firstSeq: number;
  count: number;
  topics: string[];
  buffer: SharedArrayBuffer;
  /** idempotency keys completed in this batch, for the durable log (absent: none) */
  keys?: KeyMark[];
  /** where the durable log wrote it: [segment, offset, length, oldest segment retained] (absent: not written) */
  stored?: [segment: number, offset: number, length: number, oldest: number];
}

/**
 * An idempotency key, recorded with the event that completes its publish: [that event's index (in
 * its run or batch), how many events the key covers (ending there), the key, the digest of its body].
 */
export type KeyMark = [last: number, count: number, key: string, hash: string];

export function batchFromShared(s: SharedBatch): EventBatch {
  return {
    epoch: s.epoch,
    firstSeq: s.firstSeq,
    count: s.count,
    topics: s.topics,
    ends: new Uint32Array(s.buffer, 0, s.count),
    topicIndex: new Uint32Array(s.buffer, 4 * s.count, s.count),
    bytes: new Uint8Array(s.buffer, 8 * s.count),
    shared: s,
  };
}

export function lastSeqOf(b: EventBatch): number {
  return b.firstSeq + b.count - 1;
}

export function eventBytes(b: EventBatch, i: number): Uint8Array {
  return b.bytes.subarray(i === 0 ? 0 : b.ends[i - 1]!, b.ends[i]!);
}

/** Collects encoded events and seals them into one shared batch. */
export class BatchBuilder {
  private encoded: Uint8Array[] = [];
  private topicOf: string[] = [];
  private byteLength = 0;
  private firstSeq = 0;
  private keys: KeyMark[] | undefined;

  get size(): number {
    return this.encoded.length;
  }

  get bytes(): number {
    return this.byteLength;
  }

  /** `mark`: this event completes a keyed publish (its index here is set from the batch). */
  add(seq: number, topic: string, bytes: Uint8Array, mark?: KeyMark): void {
    if (this.encoded.length === 0) this.firstSeq = seq;
    if (mark !== undefined) (this.keys ??= []).push([this.encoded.length, mark[1], mark[2], mark[3]]);
    this.encoded.push(bytes);
    this.topicOf.push(topic);
    this.byteLength += bytes.length;
  }

  seal(epoch: string): SharedBatch {
    const count = this.encoded.length;
    const buffer = new SharedArrayBuffer(8 * count + this.byteLength);
    const ends = new Uint32Array(buffer, 0, count);
    const topicIndex = new Uint32Array(buffer, 4 * count, count);
    const bytes = new Uint8Array(buffer, 8 * count);
    const dictionary = new Map<string, number>();
    let offset = 0;
    for (let i = 0; i < count; i++) {
      const topic = this.topicOf[i]!;
      let index = dictionary.get(topic);
      if (index === undefined) dictionary.set(topic, (index = dictionary.size));
      topicIndex[i] = index;
      bytes.set(this.encoded[i]!, offset);
      offset += this.encoded[i]!.length;
      ends[i] = offset;
    }
    const sealed: SharedBatch = { epoch, firstSeq: this.firstSeq, count, topics: [...dictionary.keys()], buffer };
    if (this.keys !== undefined) sealed.keys = this.keys;
    this.keys = undefined;
    this.encoded = [];
    this.topicOf = [];
    this.byteLength = 0;
    return sealed;
  }
}
