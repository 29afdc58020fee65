// The batcher fed by the local sequencer: consecutive ids, one encode per event, batches bounded
// by BATCH_SIZE, and leading-edge timing bounded by BATCH_MS.
import { describe, expect, it } from 'vitest';
import { batchFromShared, eventBytes, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { Batcher } from '../../../src/sequencing/batcher.js';
import { LocalSequencer } from '../../../src/sequencing/local-sequencer.js';
import { SharedSequence } from '../../../src/sequencing/shared-sequence.js';

function collect(batchSize: number, batchMs: number): { seq: LocalSequencer; batcher: Batcher; batches: SharedBatch[]; at: number[] } {
  const batches: SharedBatch[] = [];
  const at: number[] = [];
  const batcher = new Batcher('ep0ch', batchSize, batchMs, (b) => {
    batches.push(b);
    at.push(performance.now());
  });
  const sequence = new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8)));
  return { seq: new LocalSequencer(sequence, 'ep0ch', (run) => batcher.appendRun(run)), batcher, batches, at };
}

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = performance.now() + 2_000;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
};

describe('Batcher + LocalSequencer', () => {
  it('assigns consecutive ids carrying the epoch and encodes each event into its batch', async () => {
    const { seq, batches } = collect(256, 5);
    const ids = seq.assign([
      { topic: 'a', data: 'one' },
      { topic: 'b', data: 'two', event: 'named' },
    ]);
    expect(ids).toEqual(['ep0ch-1', 'ep0ch-2']);
    await until(() => batches.length === 1, 'a batch');
    const b = batchFromShared(batches[0]!);
    expect(b.firstSeq).toBe(1);
    expect(Buffer.from(eventBytes(b, 0)).toString()).toBe('id: ep0ch-1\ndata: one\n\n');
    expect(Buffer.from(eventBytes(b, 1)).toString()).toBe('id: ep0ch-2\nevent: named\ndata: two\n\n');
    expect(b.topics[b.topicIndex[1]!]).toBe('b');
  });

  it('never puts more than BATCH_SIZE events in a batch', () => {
    const { seq, batcher, batches } = collect(3, 1_000);
    seq.assign(Array.from({ length: 7 }, (_, i) => ({ topic: 't', data: String(i) })));
    expect(batches.map((b) => b.count)).toEqual([3, 3]); // the seventh waits for its timer
    batcher.flush();
    expect(batches.map((b) => [b.firstSeq, b.count])).toEqual([
      [1, 3],
      [4, 3],
      [7, 1],
    ]);
  });

  it('sends the first event after a quiet period on the next turn, not after BATCH_MS', async () => {
    const { seq, batches } = collect(256, 10_000);
    seq.assign([{ topic: 't', data: 'first' }]);
    seq.assign([{ topic: 't', data: 'same turn' }]);
    expect(batches).toHaveLength(0);
    await nextTurn();
    expect(batches.map((b) => b.count)).toEqual([2]);
  });

  it('after a batch, holds events until BATCH_MS has passed since it, then sends them together', async () => {
    const { seq, batches, at } = collect(256, 40);
    seq.assign([{ topic: 't', data: 'leading' }]);
    await nextTurn();
    expect(batches).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      seq.assign([{ topic: 't', data: `burst ${i}` }]);
      await nextTurn();
    }
    expect(batches).toHaveLength(1); // held: a batch left less than BATCH_MS ago
    await until(() => batches.length === 2, 'the held batch');
    expect(batches[1]!.count).toBe(3);
    // about BATCH_MS apart (Node's timers run on a loop clock cached per turn: a ms or two early)
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(30);
  });

  it('a new epoch (cluster mode) starts a new batch', () => {
    const { batcher, batches } = collect(256, 1_000);
    batcher.append('old', 7, { topic: 't', data: 'a' });
    batcher.append('new', 1, { topic: 't', data: 'b' });
    batcher.flush();
    expect(batches.map((b) => [b.epoch, b.firstSeq, b.count])).toEqual([
      ['old', 7, 1],
      ['new', 1, 1],
    ]);
  });
});
