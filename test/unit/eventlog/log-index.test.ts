// The shards' index of where the log holds each batch: a resume plan skips segments and batches
// without the stream's topics, puts the numbers the log lost (damage, a dead shard) in as `lost`
// whatever their topics, and refuses a range whose start retention deleted. Reading back checks
// the record and its place.
import { afterEach, describe, expect, it } from 'vitest';
import { tempLog } from '../../support/temp-log.js';
import { EventLog } from '../../../src/eventlog/event-log.js';
import { LogIndex, type IndexedRecord } from '../../../src/eventlog/log-index.js';
import { BatchBuilder, eventBytes } from '../../../src/sequencing/batch-layout.js';

const rec = (segment: number, firstSeq: number, count: number, topics: string[]): IndexedRecord => ({ segment, offset: 0, length: 0, firstSeq, count, topics });
const firsts = (plan: ReturnType<LogIndex['plan']>): unknown[] | undefined => plan?.map((r) => ('lost' in r ? r.lost : r.firstSeq));

describe('LogIndex.plan', () => {
  const index = new LogIndex('/nonexistent');
  index.add(rec(1, 1, 10, ['busy', 'quiet']));
  index.add(rec(1, 11, 10, ['busy']));
  index.add(rec(2, 21, 10, ['busy']));
  index.add(rec(2, 31, 10, ['busy']));
  index.add(rec(3, 41, 10, ['busy']));
  index.add(rec(3, 56, 10, ['quiet'])); // 51..55 lost (damage skipped at start)
  index.add(rec(3, 66, 10, ['busy']));

  it('a quiet topic reads only its batches: whole segments without it are skipped', () => {
    expect(firsts(index.plan(0, 75, new Set(['quiet'])))).toEqual([1, [51, 55], 56]);
    expect(firsts(index.plan(5, 40, new Set(['quiet'])))).toEqual([1]);
    expect(firsts(index.plan(10, 40, new Set(['quiet'])))).toEqual([]);
  });

  it('lost numbers are in the plan whatever their topics, clipped to the range', () => {
    expect(firsts(index.plan(52, 60, new Set(['busy'])))).toEqual([[53, 55]]);
    expect(firsts(index.plan(40, 75, new Set(['busy'])))).toEqual([41, [51, 55], 66]);
    expect(firsts(index.plan(55, 75, new Set(['busy'])))).toEqual([66]);
  });

  it('a range past what the log holds ends in lost numbers; one that starts before the oldest record is refused', () => {
    expect(firsts(index.plan(70, 80, new Set(['busy'])))).toEqual([66, [76, 80]]);
    const retained = new LogIndex('/nonexistent');
    retained.add(rec(5, 100, 10, ['a']));
    expect(retained.plan(98, 105, new Set(['a']))).toBeUndefined();
    expect(firsts(retained.plan(99, 105, new Set(['a'])))).toEqual([100]);
  });

  it('a delivered batch forgets the segments retention deleted', () => {
    const live = new LogIndex('/nonexistent');
    live.add(rec(1, 1, 10, ['a']));
    live.addStored({ epoch: 'e', firstSeq: 11, count: 10, topics: ['a'], buffer: new SharedArrayBuffer(0), stored: [2, 0, 0, 2] });
    expect(live.all.map((r) => r.firstSeq)).toEqual([11]);
    expect(live.plan(0, 20, new Set(['a']))).toBeUndefined();
  });
});

describe('LogIndex.read', () => {
  let remove = (): void => {};
  afterEach(() => remove());

  it('reads a batch back from the place the writer gave it, byte for byte', () => {
    const temp = tempLog();
    remove = temp.remove;
    const log = EventLog.open(temp.options);
    const b = new BatchBuilder();
    b.add(1, 'a', Buffer.from('id: e-1\ndata: one\n\n'));
    b.add(2, 'b', Buffer.from('id: e-2\ndata: two\n\n'));
    const batch = b.seal(log.epoch);
    log.append(batch);
    log.close();
    const index = new LogIndex(temp.options.dir);
    index.addStored(batch);
    const back = index.read(index.all[0]!)!;
    expect([back.firstSeq, back.count, back.topics]).toEqual([1, 2, ['a', 'b']]);
    expect(Buffer.from(eventBytes(back, 1)).toString()).toBe('id: e-2\ndata: two\n\n');
    expect(index.read({ ...index.all[0]!, offset: index.all[0]!.offset + 1 })).toBeUndefined();
  });
});
