// A resume's replay read in chunks: exactly the events after the id on the stream's topics, in
// order, in chunks of about the size asked for, and still whole when the window moves on meanwhile.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { History } from '../../../src/fanout/history.js';
import { BatchBuilder, batchFromShared, type EventBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodeEvent } from '../../../src/sequencing/sse-encoding.js';
import { replayed } from './resume-bytes.js';

const EPOCH = 'e1';
const frame = (topic: string, seq: number, data = `${topic}#${seq}`): string => `id: ${EPOCH}-${seq}\ndata: ${data}\n\n`;

/** A batch of consecutive events from `firstSeq`; `pad(i)` is appended to event i's data (lengths vary). */
function batch(firstSeq: number, topics: string[], pad = (_i: number) => ''): EventBatch {
  const b = new BatchBuilder();
  topics.forEach((topic, i) => b.add(firstSeq + i, topic, encodeEvent({ id: formatId(EPOCH, firstSeq + i), data: `${topic}#${firstSeq + i}${pad(i)}` })));
  return batchFromShared(b.seal(EPOCH));
}

const text = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');

describe('Replay', () => {
  it('reads the events after the id on its topics, in chunks of at least maxBytes until the last (one event past it at most)', () => {
    const h = new History(1_000, EPOCH);
    h.append(batch(1, ['a', 'b', 'a', 'a', 'c', 'a']));
    h.append(batch(7, ['a', 'b', 'a']));
    const read: number[] = [];
    const plan = h.resume(formatId(EPOCH, 1), new Set(['a', 'c']), (n) => read.push(n));
    const eventBytes = Buffer.byteLength(frame('a', 3));
    const chunks = replayed(plan.replay, 2 * eventBytes);
    expect(text(chunks)).toBe([frame('a', 3), frame('a', 4), frame('c', 5), frame('a', 6), frame('a', 7), frame('a', 9)].join(''));
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 2].map((n) => n * eventBytes));
    expect(read).toEqual([2, 2, 2]); // each chunk's events, as it is read
    expect(plan.replay!.next(1)).toBeUndefined();
  });

  it('a run of consecutive events is a view into its batch, not a copy', () => {
    const b = batch(1, ['a', 'a', 'a']);
    const h = new History(10, EPOCH);
    h.append(b);
    const [chunk] = replayed(h.resume(formatId(EPOCH, 0), new Set(['a'])).replay, 1 << 20);
    expect(chunk!.buffer).toBe(b.bytes.buffer);
    expect(Buffer.from(chunk!).toString()).toBe(frame('a', 1) + frame('a', 2) + frame('a', 3));
  });

  it('events that leave the window while the replay is read are still replayed: the hub will not send them', () => {
    const h = new History(6, EPOCH);
    h.append(batch(1, ['a', 'a', 'a']));
    h.append(batch(4, ['a', 'a', 'a']));
    const replay = h.resume(formatId(EPOCH, 0), new Set(['a'])).replay!;
    const first = replay.next(1)!;
    for (let seq = 7; seq < 100; seq += 3) h.append(batch(seq, ['a', 'a', 'a'])); // the window moves far past 1..6; the held array is compacted
    expect(text([first, ...replayed(replay)])).toBe([1, 2, 3, 4, 5, 6].map((s) => frame('a', s)).join(''));
  });

  it('any batches, topics and chunk size: the chunks together are exactly the expected events (property)', () => {
    const topic = fc.constantFrom('a', 'b', 'c');
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(topic, fc.nat({ max: 40 })), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 8 }),
        fc.uniqueArray(topic, { minLength: 1, maxLength: 3 }),
        fc.nat({ max: 30 }),
        fc.integer({ min: 1, max: 300 }),
        (batches, topics, back, maxBytes) => {
          const h = new History(1_000, EPOCH);
          const all: Array<{ seq: number; topic: string; text: string }> = [];
          let seq = 1;
          for (const events of batches) {
            const pads = events.map(([, n]) => '.'.repeat(n));
            h.append(batch(seq, events.map(([t]) => t), (i) => pads[i]!));
            events.forEach(([t], i) => all.push({ seq: seq + i, topic: t, text: frame(t, seq + i, `${t}#${seq + i}${pads[i]}`) }));
            seq += events.length;
          }
          const from = Math.max(0, h.lastSeq - back);
          const wanted = all.filter((e) => e.seq > from && topics.includes(e.topic));
          const chunks = replayed(h.resume(formatId(EPOCH, from), new Set(topics)).replay, maxBytes);
          expect(text(chunks)).toBe(wanted.map((e) => e.text).join(''));
          const largest = Math.max(0, ...wanted.map((e) => Buffer.byteLength(e.text)));
          for (const c of chunks.slice(0, -1)) expect(c.length).toBeGreaterThanOrEqual(maxBytes);
          for (const c of chunks) expect(c.length).toBeLessThan(maxBytes + largest);
        },
      ),
      { numRuns: 300 },
    );
  });
});
