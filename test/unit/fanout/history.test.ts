import { describe, expect, it } from 'vitest';
import { BatchBuilder, batchFromShared, type EventBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { History, type ResumePlan } from '../../../src/fanout/history.js';
import { encodeEvent } from '../../../src/sequencing/sse-encoding.js';
import { replayed } from './resume-bytes.js';

const EPOCH = 'e1';

/** A sealed batch of consecutive events starting at firstSeq; each event's data is `<topic>#<seq>`. */
function batch(firstSeq: number, topics: string[], epoch = EPOCH): EventBatch {
  const builder = new BatchBuilder();
  topics.forEach((topic, i) => {
    const seq = firstSeq + i;
    builder.add(seq, topic, encodeEvent({ id: formatId(epoch, seq), data: `${topic}#${seq}` }));
  });
  return batchFromShared(builder.seal(epoch));
}

const text = (bytes: Uint8Array[]): string[] => bytes.map((b) => Buffer.from(b).toString('utf8'));
/** The replay, one event per chunk. */
const events = (plan: ResumePlan): Uint8Array[] => replayed(plan.replay);
const frame = (topic: string, seq: number, epoch = EPOCH): string => `id: ${epoch}-${seq}\ndata: ${topic}#${seq}\n\n`;
const topics = (...names: string[]): readonly string[] => names;

describe('History', () => {
  it('starts empty with lastSeq 0', () => {
    const h = new History(4, EPOCH);
    expect(h.size).toBe(0);
    expect(h.lastSeq).toBe(0);
    expect(h.resume(undefined, topics('a'))).toEqual({ lastSeq: 0 });
  });

  it('appends batches and tracks size and lastSeq', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'b']));
    h.append(batch(3, ['a']));
    expect(h.size).toBe(3);
    expect(h.lastSeq).toBe(3);
  });

  it('wraps at capacity, keeping only the newest events', () => {
    const h = new History(3, EPOCH);
    h.append(batch(1, ['a', 'a']));
    h.append(batch(3, ['a', 'a']));
    h.append(batch(5, ['a']));
    expect(h.size).toBe(3);
    expect(h.lastSeq).toBe(5);
    // the oldest retained is 3, so a client at 2 can still resume...
    expect(text(events(h.resume(formatId(EPOCH, 2), topics('a'))))).toEqual([frame('a', 3), frame('a', 4), frame('a', 5)]);
    // ...and one at 1 cannot
    expect(h.resume(formatId(EPOCH, 1), topics('a')).reset).toBe('history');
  });

  it('wraps correctly when one batch is larger than the ring', () => {
    const h = new History(3, EPOCH);
    h.append(batch(1, ['a', 'b', 'a', 'b', 'a', 'b', 'a']));
    expect(h.size).toBe(3);
    expect(h.lastSeq).toBe(7);
    expect(text(events(h.resume(formatId(EPOCH, 4), topics('a', 'b'))))).toEqual([frame('a', 5), frame('b', 6), frame('a', 7)]);
    expect(h.resume(formatId(EPOCH, 3), topics('a', 'b')).reset).toBe('history');
  });

  it('wraps many times and still replays in order (ring index arithmetic)', () => {
    const h = new History(4, EPOCH);
    let seq = 1;
    for (let round = 0; round < 11; round++) {
      const topics = round % 2 === 0 ? ['a', 'b', 'a'] : ['b'];
      h.append(batch(seq, topics));
      seq += topics.length;
    }
    const last = seq - 1;
    expect(h.lastSeq).toBe(last);
    expect(h.size).toBe(4);
    const plan = h.resume(formatId(EPOCH, last - 4), topics('a', 'b'));
    expect(plan.reset).toBeUndefined();
    expect(plan.lastSeq).toBe(last);
    const ids = text(events(plan)).map((t) => /^id: e1-(\d+)\n/.exec(t)![1]);
    expect(ids).toEqual([String(last - 3), String(last - 2), String(last - 1), String(last)]);
  });

  it('replays exactly the retained events after the id, on the requested topics only, in order', () => {
    const h = new History(100, EPOCH);
    h.append(batch(1, ['a', 'b', 'c', 'a']));
    h.append(batch(5, ['b', 'a', 'c']));
    const plan = h.resume(formatId(EPOCH, 2), topics('a', 'c'));
    expect(plan.reset).toBeUndefined();
    expect(plan.lastSeq).toBe(7);
    expect(text(events(plan))).toEqual([frame('c', 3), frame('a', 4), frame('a', 6), frame('c', 7)]);
  });

  it('replays nothing for topics absent from the history, but still reports lastSeq', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'b']));
    const plan = h.resume(formatId(EPOCH, 0), topics('zzz'));
    expect(plan.lastSeq).toBe(2);
    expect(events(plan)).toEqual([]);
  });

  it('replays everything retained from seq 0 of the epoch when nothing has wrapped', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'b', 'a']));
    expect(text(events(h.resume(formatId(EPOCH, 0), topics('a'))))).toEqual([frame('a', 1), frame('a', 3)]);
  });

  it('returns views of the batch bytes, not copies', () => {
    const b = batch(1, ['a']);
    const h = new History(10, EPOCH);
    h.append(b);
    const [view] = events(h.resume(formatId(EPOCH, 0), topics('a')));
    expect(view!.buffer).toBe(b.bytes.buffer);
  });

  it('an id equal to lastSeq replays nothing and asks for no reset', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'a', 'a']));
    const plan = h.resume(formatId(EPOCH, 3), topics('a'));
    expect(plan).toEqual({ lastSeq: 3 });
    expect('reset' in plan).toBe(false);
  });

  it('no Last-Event-ID: goes live with no replay and no reset', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'a']));
    expect(h.resume(undefined, topics('a'))).toEqual({ lastSeq: 2 });
  });

  describe('reset reasons', () => {
    const filled = (): History => {
      const h = new History(3, EPOCH);
      h.append(batch(1, ['a', 'a', 'a', 'a', 'a'])); // retains 3..5
      return h;
    };

    it.each(['', 'garbage', '12345', 'E1-3', 'e1-3 ', 'e1-1.5', `${'a'.repeat(200)}-1`])(
      'unparseable id %j -> history',
      (raw) => {
        expect(filled().resume(raw, topics('a'))).toEqual({ lastSeq: 5, reset: 'history' });
      },
    );

    it('an id from another epoch -> epoch, even if its seq would be in range', () => {
      expect(filled().resume(formatId('other', 4), topics('a'))).toEqual({ lastSeq: 5, reset: 'epoch' });
    });

    it('an id older than the ring -> history', () => {
      expect(filled().resume(formatId(EPOCH, 1), topics('a'))).toEqual({ lastSeq: 5, reset: 'history' });
      expect(filled().resume(formatId(EPOCH, 0), topics('a'))).toEqual({ lastSeq: 5, reset: 'history' });
    });

    it('an id just before the oldest retained event is still resumable', () => {
      const plan = filled().resume(formatId(EPOCH, 2), topics('a'));
      expect(plan.reset).toBeUndefined();
      expect(text(events(plan))).toEqual([frame('a', 3), frame('a', 4), frame('a', 5)]);
    });

    // Taking an ahead id as a position would silently skip every event up to it; waiting for a shard
    // or server that is behind is the shard's job (Shard.catchUp), before it asks the history.
    it('an id ahead of lastSeq, by one or by far, -> history', () => {
      expect(filled().resume(formatId(EPOCH, 6), topics('a'))).toEqual({ lastSeq: 5, reset: 'history' });
      expect(filled().resume(formatId(EPOCH, 1005), topics('a'))).toEqual({ lastSeq: 5, reset: 'history' });
      expect(new History(3, EPOCH).resume(formatId(EPOCH, 1), topics('a'))).toEqual({ lastSeq: 0, reset: 'history' });
    });
  });

  it('append with a new epoch clears the ring and adopts the epoch', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'a', 'a']));
    h.append(batch(1, ['a', 'b'], 'e2'));
    expect(h.epoch).toBe('e2');
    expect(h.size).toBe(2);
    expect(h.lastSeq).toBe(2);
    // old ids are recognised as another epoch, not mistaken for recent ones
    expect(h.resume(formatId(EPOCH, 1), topics('a')).reset).toBe('epoch');
    expect(text(events(h.resume(formatId('e2', 0), topics('a', 'b'))))).toEqual([frame('a', 1, 'e2'), frame('b', 2, 'e2')]);
  });

  it('a new epoch may start at any seq (cluster log), and replays from there', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'a']));
    h.append(batch(500, ['a', 'a'], 'e2'));
    expect(h.size).toBe(2);
    expect(h.lastSeq).toBe(501);
    expect(h.resume(formatId('e2', 498), topics('a')).reset).toBe('history');
    expect(text(events(h.resume(formatId('e2', 499), topics('a'))))).toEqual([frame('a', 500, 'e2'), frame('a', 501, 'e2')]);
  });

  it('a gap in the sequence within one epoch starts a new history', () => {
    const h = new History(10, EPOCH);
    h.append(batch(1, ['a', 'a']));
    h.append(batch(10, ['a']));
    expect(h.size).toBe(1);
    expect(h.lastSeq).toBe(10);
    // events 3..9 were never seen, so an id of 2 must not silently resume across the gap
    expect(h.resume(formatId(EPOCH, 2), topics('a')).reset).toBe('history');
    expect(text(events(h.resume(formatId(EPOCH, 9), topics('a'))))).toEqual([frame('a', 10)]);
  });
});
