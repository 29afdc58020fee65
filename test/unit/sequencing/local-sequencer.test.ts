// LocalSequencer: ids from the shared sequence, one encode per event, runs handed on in order;
// two sequencers on one sequence (two shards) never give out the same number.
import { describe, expect, it } from 'vitest';
import type { PublishItem } from '../../../src/intake/publish-request.js';
import { batchFromShared, eventBytes, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { Batcher } from '../../../src/sequencing/batcher.js';
import { LocalSequencer, type SequencedRun } from '../../../src/sequencing/local-sequencer.js';
import { SharedSequence } from '../../../src/sequencing/shared-sequence.js';

/** A sequencer over a batcher that only emits on flush() (BATCH_MS far away, BATCH_SIZE large). */
function sequencer(): { seq: LocalSequencer; batcher: Batcher; batches: SharedBatch[] } {
  const batches: SharedBatch[] = [];
  const batcher = new Batcher('ep0ch', 10_000, 1_000, (b) => batches.push(b));
  const sequence = new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8)));
  return { seq: new LocalSequencer(sequence, 'ep0ch', (run) => batcher.appendRun(run)), batcher, batches };
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

  it('two sequencers on one shared sequence (two shards) number without overlap, each run encoded under its ids', () => {
    const sequence = new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8)));
    const runs: SequencedRun[] = [];
    const a = new LocalSequencer(sequence, 'ep0ch', (run) => runs.push(run));
    const b = new LocalSequencer(sequence, 'ep0ch', (run) => runs.push(run));
    expect(a.assign(items('1', '2'))).toEqual(['ep0ch-1', 'ep0ch-2']);
    expect(b.assign(items('3'))).toEqual(['ep0ch-3']);
    expect(a.assign(items('4'))).toEqual(['ep0ch-4']);
    expect(sequence.last).toBe(4);
    expect(runs.map((r) => [r.firstSeq, r.topics, r.bytes.map((x) => Buffer.from(x).toString())])).toEqual([
      [1, ['t-1', 't-2'], ['id: ep0ch-1\ndata: 1\n\n', 'id: ep0ch-2\ndata: 2\n\n']],
      [3, ['t-3'], ['id: ep0ch-3\ndata: 3\n\n']],
      [4, ['t-4'], ['id: ep0ch-4\ndata: 4\n\n']],
    ]);
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
