// LocalSequencer: the one place ids are assigned in a single server, feeding the batcher in order.
import { describe, expect, it } from 'vitest';
import type { PublishItem } from '../../../src/intake/publish-request.js';
import { batchFromShared, eventBytes, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { Batcher } from '../../../src/sequencing/batcher.js';
import { LocalSequencer } from '../../../src/sequencing/local-sequencer.js';

/** A sequencer over a batcher that only emits on flush() (BATCH_MS far away, BATCH_SIZE large). */
function sequencer(): { seq: LocalSequencer; batcher: Batcher; batches: SharedBatch[] } {
  const batches: SharedBatch[] = [];
  const batcher = new Batcher('ep0ch', 10_000, 1_000, (b) => batches.push(b));
  return { seq: new LocalSequencer(batcher), batcher, batches };
}

const items = (...data: string[]): PublishItem[] => data.map((d) => ({ topic: `t-${d}`, data: d }));

/** Every event the batcher emitted, as [seq, topic, wire text], in batch order. */
function emitted(batches: SharedBatch[]): Array<[number, string, string]> {
  return batches.flatMap((s) => {
    const b = batchFromShared(s);
    return Array.from({ length: b.count }, (_, i): [number, string, string] => [
      b.firstSeq + i,
      b.topics[b.topicIndex[i]!]!,
      Buffer.from(eventBytes(b, i)).toString('utf8'),
    ]);
  });
}

describe('LocalSequencer', () => {
  it('assigns consecutive ids from 1 across calls, in the batcher\'s epoch', () => {
    const { seq } = sequencer();
    expect(seq.assign(items('a', 'b'))).toEqual(['ep0ch-1', 'ep0ch-2']);
    expect(seq.assign(items('c'))).toEqual(['ep0ch-3']);
    expect(seq.assign([])).toEqual([]);
    expect(seq.assign(items('d'))).toEqual(['ep0ch-4']);
  });

  it('publish() resolves with the ids assign() would have given, and sends the same events', async () => {
    const viaAssign = sequencer();
    const viaPublish = sequencer();
    const calls = [items('a', 'b'), items('c'), items('d', 'e', 'f')];
    const assigned = calls.map((c) => viaAssign.seq.assign(c));
    const published = [];
    for (const c of calls) published.push(await viaPublish.seq.publish(c));
    expect(published).toEqual(assigned);
    viaAssign.batcher.flush();
    viaPublish.batcher.flush();
    expect(emitted(viaPublish.batches)).toEqual(emitted(viaAssign.batches));
  });

  it('publish() takes its ids when called, not when its promise resolves', async () => {
    const { seq } = sequencer();
    const first = seq.publish(items('a'));
    expect(seq.assign(items('b'))).toEqual(['ep0ch-2']);
    expect(await first).toEqual(['ep0ch-1']);
  });

  it('events reach the batcher in order, each with its id, topic and data', () => {
    const { seq, batcher, batches } = sequencer();
    seq.assign([
      { topic: 'x', data: 'one' },
      { topic: 'y', data: 'two', event: 'named' },
    ]);
    seq.assign([{ topic: 'x', data: 'three' }]);
    batcher.flush();
    expect(batcher.lastSeq).toBe(3);
    expect(emitted(batches)).toEqual([
      [1, 'x', 'id: ep0ch-1\ndata: one\n\n'],
      [2, 'y', 'id: ep0ch-2\nevent: named\ndata: two\n\n'],
      [3, 'x', 'id: ep0ch-3\ndata: three\n\n'],
    ]);
  });
});
