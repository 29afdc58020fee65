// The one server's key table and the keyed publish it decides, without a server: found keys answer
// their first ids, new ones are numbered together with a mark for the log, a different body is 409
// before anything is numbered, the window and the cap forget the oldest first. A key written with its
// batch comes back from the log files at the next start, with its ids.
import { afterEach, describe, expect, it } from 'vitest';
import { tempLog } from '../../support/temp-log.js';
import { EventLog } from '../../../src/eventlog/event-log.js';
import { digest, keyedUnits } from '../../../src/intake/idempotency-keys.js';
import type { PublishItem } from '../../../src/intake/publish-request.js';
import { Batcher } from '../../../src/sequencing/batcher.js';
import type { KeyMark, SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { IdempotencyTable, publishKeyed } from '../../../src/sequencing/idempotency-table.js';

const item = (data: string): PublishItem => ({ topic: 't', data });

/** numbers from 1 in epoch `e`, remembering what each call was given */
function sequencer(): { assign: (items: PublishItem[], marks: KeyMark[]) => string[]; calls: { items: PublishItem[]; marks: KeyMark[] }[] } {
  let next = 1;
  const calls: { items: PublishItem[]; marks: KeyMark[] }[] = [];
  return { calls, assign: (items, marks) => (calls.push({ items, marks }), items.map(() => `e-${next++}`)) };
}

describe('publishKeyed', () => {
  it('a retry answers the first ids and numbers nothing; a batch mixing known, new and un-keyed items numbers only the new ones, in order', () => {
    const table = new IdempotencyTable(60_000, 100);
    const seq = sequencer();
    const items = [item('a'), item('free'), item('b')];
    const units = keyedUnits(items, '', ['ka', undefined, 'kb'])!;
    expect(publishKeyed(table, items, units, seq.assign, 1_000)).toEqual(['e-1', 'e-2', 'e-3']);
    expect(seq.calls[0]!.marks).toEqual([[0, 1, 'ka', digest([items[0]!])], [2, 1, 'kb', digest([items[2]!])]]);
    const more = [item('free'), item('b'), item('c')];
    expect(publishKeyed(table, more, keyedUnits(more, '', [undefined, 'kb', 'kc'])!, seq.assign, 2_000)).toEqual(['e-4', 'e-3', 'e-5']);
    expect(seq.calls[1]).toEqual({ items: [item('free'), item('c')], marks: [[1, 1, 'kc', digest([item('c')])]] });
    expect(publishKeyed(table, items, units, seq.assign, 3_000)).toEqual(['e-1', 'e-6', 'e-3']);
  });

  it('the header key covers the whole request; the same key with another body is IDEMPOTENCY_KEY_REUSED and numbers nothing', () => {
    const table = new IdempotencyTable(60_000, 100);
    const seq = sequencer();
    const items = [item('a'), item('b')];
    expect(publishKeyed(table, items, keyedUnits(items, 'h', undefined)!, seq.assign, 0)).toEqual(['e-1', 'e-2']);
    expect(seq.calls[0]!.marks).toEqual([[1, 2, 'h', digest(items)]]);
    const other = [item('a'), item('c')];
    expect(() => publishKeyed(table, other, keyedUnits(other, 'h', undefined)!, seq.assign, 0)).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED', status: 409 }));
    const mixed = [item('new'), item('changed')];
    expect(() => publishKeyed(table, mixed, keyedUnits(mixed, '', ['fresh', 'h'])!, seq.assign, 0)).toThrow(expect.objectContaining({ code: 'IDEMPOTENCY_KEY_REUSED' }));
    expect(seq.calls).toHaveLength(1);
  });

  it('a key older than the window is new again; over the cap the oldest key is forgotten first (and counted)', () => {
    const table = new IdempotencyTable(1_000, 2);
    const seq = sequencer();
    const one = (key: string, at: number): string[] => publishKeyed(table, [item(key)], keyedUnits([item(key)], key, undefined)!, seq.assign, at);
    expect(one('a', 0)).toEqual(['e-1']);
    expect(one('a', 999)).toEqual(['e-1']);
    expect(one('a', 1_000)).toEqual(['e-2']);
    one('b', 1_001);
    one('c', 1_002);
    expect(table.size).toBe(2);
    expect(table.evicted).toBe(1);
    expect(one('b', 1_003)).toEqual(['e-3']);
    expect(one('a', 1_004)).toEqual(['e-5']);
  });
});

describe('keys in the durable log', () => {
  let remove = (): void => {};
  afterEach(() => remove());

  it('a key is recorded with the batch holding its last event (a run split between batches) and recovered with all its ids', () => {
    const temp = tempLog();
    remove = temp.remove;
    const log = EventLog.open(temp.options);
    const batches: SharedBatch[] = [];
    const batcher = new Batcher(log.epoch, 3, 1_000, (b) => (batches.push(b), log.append(b, 5_000)));
    const bytes = (i: number): Uint8Array => Buffer.from(`id: ${log.epoch}-${i}\ndata: ${i}\n\n`);
    batcher.appendRun({ firstSeq: 1, topics: ['t', 't', 't', 't', 't'], bytes: [1, 2, 3, 4, 5].map(bytes), receivedAt: 0, keys: [[0, 1, 'one', 'h1'], [4, 3, 'three', 'h3']] });
    batcher.flush();
    expect(batches.map((b) => b.keys)).toEqual([[[0, 1, 'one', 'h1']], [[1, 3, 'three', 'h3']]]);
    log.close();
    const again = EventLog.open(temp.options);
    expect(again.takeKeys()).toEqual([
      { key: 'one', hash: 'h1', ids: [`${log.epoch}-1`], at: 5_000 },
      { key: 'three', hash: 'h3', ids: [3, 4, 5].map((i) => `${log.epoch}-${i}`), at: 5_000 },
    ]);
    again.close();
  });
});
