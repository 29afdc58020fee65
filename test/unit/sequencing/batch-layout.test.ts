// The batch layout every shard reads: one SharedArrayBuffer holding [ends][topicIndex][SSE bytes].
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { BatchBuilder, batchFromShared, eventBytes, lastSeqOf, type EventBatch, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodeEvent } from '../../../src/sequencing/sse-encoding.js';

const EPOCH = 'e1';

/** Seals consecutive events starting at firstSeq; each event's data is `<topic>#<seq>`. */
function sealed(firstSeq: number, topics: string[], builder = new BatchBuilder()): SharedBatch {
  topics.forEach((topic, i) => {
    const seq = firstSeq + i;
    builder.add(seq, topic, encodeEvent({ id: formatId(EPOCH, seq), data: `${topic}#${seq}` }));
  });
  return builder.seal(EPOCH);
}
const batch = (firstSeq: number, topics: string[]): EventBatch => batchFromShared(sealed(firstSeq, topics));
const frame = (topic: string, seq: number): string => `id: ${EPOCH}-${seq}\ndata: ${topic}#${seq}\n\n`;
const utf8 = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('BatchBuilder + batchFromShared', () => {
  it('keeps each event\'s bytes, topic and sequence number', () => {
    const b = batch(5, ['a', 'b', 'a']);
    expect(b.firstSeq).toBe(5);
    expect(b.count).toBe(3);
    expect(b.topics).toEqual(['a', 'b']);
    expect([...b.topicIndex]).toEqual([0, 1, 0]);
    expect(Buffer.from(b.bytes).toString()).toBe(frame('a', 5) + frame('b', 6) + frame('a', 7));
  });
});

describe('BatchBuilder.seal', () => {
  it('lays out [ends: u32 x count][topicIndex: u32 x count][bytes] in one SharedArrayBuffer', () => {
    const s = sealed(1, ['x', 'yy', 'x', 'z']);
    const frames = [frame('x', 1), frame('yy', 2), frame('x', 3), frame('z', 4)];
    const total = frames.join('').length;
    expect(s.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(s.buffer.byteLength).toBe(8 * 4 + total);
    expect(s).toMatchObject({ epoch: EPOCH, firstSeq: 1, count: 4, topics: ['x', 'yy', 'z'] });
    const words = new Uint32Array(s.buffer, 0, 8);
    let end = 0;
    const ends = frames.map((f) => (end += f.length));
    expect([...words.subarray(0, 4)]).toEqual(ends); // event i ends at ends[i]
    expect([...words.subarray(4, 8)]).toEqual([0, 1, 0, 2]); // topics in order of first appearance
    expect(Buffer.from(s.buffer, 32).toString('utf8')).toBe(frames.join(''));
  });

  it('the builder is empty again after seal: the next batch holds only what was added since', () => {
    const builder = new BatchBuilder();
    builder.add(1, 'a', encodeEvent({ data: 'one' }));
    expect(builder.size).toBe(1);
    expect(builder.bytes).toBe('data: one\n\n'.length);
    builder.seal(EPOCH);
    expect(builder.size).toBe(0);
    expect(builder.bytes).toBe(0);
    const next = batchFromShared(sealed(2, ['b'], builder));
    expect(next).toMatchObject({ firstSeq: 2, count: 1, topics: ['b'] });
    expect(utf8(next.bytes)).toBe(frame('b', 2));
  });

  it('counts events and bytes as they are added', () => {
    const builder = new BatchBuilder();
    const one = encodeEvent({ data: 'é' });
    builder.add(7, 't', one);
    builder.add(8, 't', one);
    expect(builder.size).toBe(2);
    expect(builder.bytes).toBe(2 * one.length);
  });
});

describe('batchFromShared', () => {
  it('views the shared buffer, no copy: a write through the buffer shows in the batch', () => {
    const s = sealed(1, ['a', 'b']);
    const b = batchFromShared(s);
    for (const view of [b.ends, b.topicIndex, b.bytes]) expect(view.buffer).toBe(s.buffer);
    expect(b.shared).toBe(s);
    new Uint8Array(s.buffer)[8 * 2 + 'id: '.length] = 'E'.charCodeAt(0);
    expect(utf8(eventBytes(b, 0))).toBe(`id: E1-1\ndata: a#1\n\n`);
  });

  it('a batch posted to another port arrives as the same memory, not a copy', async () => {
    const s = sealed(1, ['a']);
    const { port1, port2 } = new MessageChannel();
    try {
      const received = new Promise<SharedBatch>((resolve) => port2.once('message', resolve));
      port1.postMessage(s);
      const there = batchFromShared(await received);
      expect(utf8(there.bytes)).toBe(frame('a', 1));
      new Uint8Array(s.buffer)[8 + 'id: '.length] = 'E'.charCodeAt(0); // written here...
      expect(utf8(eventBytes(there, 0))).toBe('id: E1-1\ndata: a#1\n\n'); // ...read there
    } finally {
      port1.close();
      port2.close();
    }
  });
});

describe('eventBytes and lastSeqOf', () => {
  it('eventBytes(b, i) is exactly event i, as a view of the batch bytes', () => {
    const b = batch(10, ['a', 'b', 'c']);
    expect([0, 1, 2].map((i) => utf8(eventBytes(b, i)))).toEqual([frame('a', 10), frame('b', 11), frame('c', 12)]);
    expect(eventBytes(b, 1).buffer).toBe(b.bytes.buffer);
  });

  it('lastSeqOf is the seq of the batch\'s last event', () => {
    expect(lastSeqOf(batch(10, ['a', 'b', 'c']))).toBe(12);
    expect(lastSeqOf(batch(1, ['a']))).toBe(1);
  });
});
