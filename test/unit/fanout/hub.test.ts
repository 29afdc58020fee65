// The Hub with plain in-memory subscribers: `Subscriber` is the hub's own interface (the transport
// implements it over uWS), so these record what they are sent instead of standing in for a socket.
import { describe, expect, it } from 'vitest';
import { BatchBuilder, batchFromShared, type EventBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { Hub, type FanoutStats, type Subscriber } from '../../../src/fanout/hub.js';
import { encodeEvent } from '../../../src/sequencing/sse-encoding.js';

const EPOCH = 'e1';

/** A sealed batch of consecutive events starting at firstSeq; each event's data is `<topic>#<seq>`. */
function batch(firstSeq: number, topics: string[]): EventBatch {
  const builder = new BatchBuilder();
  topics.forEach((topic, i) => {
    const seq = firstSeq + i;
    builder.add(seq, topic, encodeEvent({ id: formatId(EPOCH, seq), data: `${topic}#${seq}` }));
  });
  return batchFromShared(builder.seal(EPOCH));
}

const frame = (topic: string, seq: number): string => `id: ${EPOCH}-${seq}\ndata: ${topic}#${seq}\n\n`;

class RecordingSubscriber implements Subscriber {
  readonly topics: readonly string[];
  readonly sends: Array<{ bytes: Uint8Array; events: number }> = [];
  constructor(
    topics: string[],
    public lastSeq = 0,
    readonly wholePasses = false,
  ) {
    this.topics = [...new Set(topics)];
  }
  send(bytes: Uint8Array, events: number): void {
    this.sends.push({ bytes, events });
  }
  /** every send as text */
  get texts(): string[] {
    return this.sends.map((s) => Buffer.from(s.bytes).toString('utf8'));
  }
  /** everything received, as one string */
  get received(): string {
    return this.texts.join('');
  }
  /** the seq of every event received, in order */
  get seqs(): number[] {
    return [...this.received.matchAll(/^id: e1-(\d+)$/gm)].map((m) => Number(m[1]));
  }
  get eventCount(): number {
    return this.sends.reduce((n, s) => n + s.events, 0);
  }
}

class RecordingStats implements FanoutStats {
  passes: number[] = [];
  segments = 0;
  onPass(events: number): void {
    this.passes.push(events);
  }
  onSegment(seconds: number): void {
    expect(seconds).toBeGreaterThanOrEqual(0);
    this.segments++;
  }
}

/** Resolves after one turn of the event loop's check phase, where the hub's setImmediate continuations run. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Lets the event loop turn until `done()` holds; fails (instead of hanging) if it never does. */
async function until(done: () => boolean, what: string, maxTurns = 100): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (done()) return;
    await turn();
  }
  throw new Error(`not reached after ${maxTurns} event-loop turns: ${what}`);
}

function hub(segmentSize = 1000): { hub: Hub; stats: RecordingStats } {
  const stats = new RecordingStats();
  return { hub: new Hub(segmentSize, stats), stats };
}

describe('Hub', () => {
  it('tracks subscribers as they are added and removed', () => {
    const { hub: h } = hub();
    const a = new RecordingSubscriber(['a']);
    const b = new RecordingSubscriber(['a']);
    h.add(a);
    h.add(b);
    expect(h.subscriberCount).toBe(2);
    expect([...h.subscribers()]).toEqual([a, b]);
    h.remove(a);
    h.remove(a); // removing twice is harmless
    expect(h.subscriberCount).toBe(1);
    expect([...h.subscribers()]).toEqual([b]);
  });

  it('gives each single-topic subscriber only its topic\'s events, in one send', async () => {
    const { hub: h, stats } = hub();
    const a = new RecordingSubscriber(['a']);
    const b = new RecordingSubscriber(['b']);
    const c = new RecordingSubscriber(['c']);
    for (const s of [a, b, c]) h.add(s);
    h.deliver(batch(1, ['a', 'b', 'a', 'b', 'b']));
    await turn(); // the pass starts on the next turn
    expect(a.texts).toEqual([frame('a', 1) + frame('a', 3)]);
    expect(a.sends[0]!.events).toBe(2);
    expect(b.texts).toEqual([frame('b', 2) + frame('b', 4) + frame('b', 5)]);
    expect(b.sends[0]!.events).toBe(3);
    expect(c.sends).toEqual([]);
    // everyone who was touched is now at the batch's last seq; c was not touched
    expect(a.lastSeq).toBe(5);
    expect(b.lastSeq).toBe(5);
    expect(stats.passes).toEqual([5]);
  });

  it('gives a multi-topic subscriber the events of all its topics in id order, in one send per pass', async () => {
    const { hub: h } = hub();
    const ac = new RecordingSubscriber(['c', 'a']); // insertion order must not matter
    h.add(ac);
    h.deliver(batch(1, ['a', 'b', 'c', 'c', 'b', 'a', 'c']));
    await turn(); // the pass starts on the next turn
    expect(ac.sends).toHaveLength(1);
    expect(ac.sends[0]!.events).toBe(5);
    expect(ac.texts[0]).toBe(frame('a', 1) + frame('c', 3) + frame('c', 4) + frame('a', 6) + frame('c', 7));
    expect(ac.lastSeq).toBe(7);
  });

  it('sends a contiguous run as a zero-copy view of the batch bytes', async () => {
    const { hub: h } = hub();
    const all = new RecordingSubscriber(['a', 'b']);
    h.add(all);
    const b = batch(1, ['a', 'b', 'a']);
    h.deliver(b);
    await turn(); // the pass starts on the next turn
    expect(all.sends[0]!.bytes.buffer).toBe(b.bytes.buffer);
    expect(all.texts).toEqual([frame('a', 1) + frame('b', 2) + frame('a', 3)]);
  });

  it('gives subscribers with the same topic set the identical Uint8Array (encoded once)', async () => {
    const { hub: h } = hub();
    const s1 = new RecordingSubscriber(['a', 'b']);
    const s2 = new RecordingSubscriber(['b', 'a']);
    const s3 = new RecordingSubscriber(['a', 'b']);
    const other = new RecordingSubscriber(['a']);
    for (const s of [s1, s2, s3, other]) h.add(s);
    h.deliver(batch(1, ['a', 'c', 'b', 'a'])); // not contiguous for {a,b}: the gathered copy must still be shared
    await turn(); // the pass starts on the next turn
    expect(s1.sends).toHaveLength(1);
    expect(s2.sends[0]!.bytes).toBe(s1.sends[0]!.bytes);
    expect(s3.sends[0]!.bytes).toBe(s1.sends[0]!.bytes);
    expect(s1.texts[0]).toBe(frame('a', 1) + frame('b', 3) + frame('a', 4));
    expect(other.texts).toEqual([frame('a', 1) + frame('a', 4)]);
    expect(other.sends[0]!.bytes).not.toBe(s1.sends[0]!.bytes);
  });

  it('with segmentSize=2 and 5 subscribers, delivers every event exactly once and yields between segments', async () => {
    const { hub: h, stats } = hub(2);
    const subs = [
      new RecordingSubscriber(['a']),
      new RecordingSubscriber(['a']),
      new RecordingSubscriber(['b']),
      new RecordingSubscriber(['a', 'b']),
      new RecordingSubscriber(['a']),
    ];
    for (const s of subs) h.add(s);
    const served = (): number => subs.filter((s) => s.sends.length > 0).length;

    h.deliver(batch(1, ['a', 'b', 'a']));
    // the pass starts on the next turn (batches arriving in this one would join it), then yields per segment
    expect(served()).toBe(0);
    await turn();
    expect(served()).toBe(2);
    await turn();
    expect(served()).toBe(4);
    await turn();
    expect(served()).toBe(5);
    await turn();
    expect(served()).toBe(5);

    for (const s of subs) {
      expect(s.sends).toHaveLength(1);
      expect(s.lastSeq).toBe(3);
    }
    expect(subs[0]!.seqs).toEqual([1, 3]);
    expect(subs[1]!.seqs).toEqual([1, 3]);
    expect(subs[2]!.seqs).toEqual([2]);
    expect(subs[3]!.seqs).toEqual([1, 2, 3]);
    expect(subs[4]!.seqs).toEqual([1, 3]);
    expect(stats.passes).toEqual([3]);
    expect(stats.segments).toBe(3); // 2 + 2 + 1 subscribers
  });

  it('skips a subscriber whose lastSeq is already at or past the batch\'s last seq (it got them by replay)', async () => {
    const { hub: h } = hub();
    const replayed = new RecordingSubscriber(['a'], 3);
    const ahead = new RecordingSubscriber(['a'], 10);
    const live = new RecordingSubscriber(['a'], 0);
    for (const s of [replayed, ahead, live]) h.add(s);
    h.deliver(batch(1, ['a', 'a', 'a']));
    await turn(); // the pass starts on the next turn
    expect(replayed.sends).toEqual([]);
    expect(ahead.sends).toEqual([]);
    expect(ahead.lastSeq).toBe(10); // never moved backwards
    expect(live.seqs).toEqual([1, 2, 3]);
  });

  it('gives a subscriber whose lastSeq falls inside the pass only the events after it', async () => {
    const { hub: h } = hub();
    const fresh = new RecordingSubscriber(['a', 'b'], 0);
    const mid = new RecordingSubscriber(['a', 'b'], 3);
    const midOneTopic = new RecordingSubscriber(['a'], 2);
    for (const s of [fresh, mid, midOneTopic]) h.add(s);
    h.deliver(batch(1, ['a', 'b', 'a', 'b', 'a']));
    await turn(); // the pass starts on the next turn
    expect(fresh.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(mid.texts).toEqual([frame('b', 4) + frame('a', 5)]);
    expect(mid.sends[0]!.events).toBe(2);
    expect(midOneTopic.texts).toEqual([frame('a', 3) + frame('a', 5)]);
    expect(midOneTopic.sends[0]!.events).toBe(2);
    for (const s of [fresh, mid, midOneTopic]) expect(s.lastSeq).toBe(5);
  });

  it('sends nothing to a subscriber whose lastSeq is inside the pass when no later event is on its topics', async () => {
    const { hub: h } = hub();
    const s = new RecordingSubscriber(['a'], 2);
    h.add(s);
    h.deliver(batch(1, ['a', 'a', 'b']));
    await turn(); // the pass starts on the next turn
    expect(s.sends).toEqual([]);
    expect(s.lastSeq).toBe(3);
  });

  it('sends nothing to removed subscribers', async () => {
    const { hub: h } = hub();
    const kept = new RecordingSubscriber(['a']);
    const gone = new RecordingSubscriber(['a']);
    const goneAlone = new RecordingSubscriber(['b']); // its group disappears entirely
    for (const s of [kept, gone, goneAlone]) h.add(s);
    h.remove(gone);
    h.remove(goneAlone);
    h.deliver(batch(1, ['a', 'b']));
    await turn(); // the pass starts on the next turn
    expect(kept.seqs).toEqual([1]);
    expect(gone.sends).toEqual([]);
    expect(goneAlone.sends).toEqual([]);
  });

  it('a topic shared by groups that come and go (one group, then several, then one again) reaches exactly its groups', async () => {
    const { hub: h } = hub();
    const a = new RecordingSubscriber(['a']);
    const ab = new RecordingSubscriber(['a', 'b']);
    const ac = new RecordingSubscriber(['a', 'c']);
    for (const s of [a, ab, ac]) h.add(s);
    h.remove(ab);
    h.remove(a); // 'a' is down to the one group {a, c}; 'b' has none
    h.deliver(batch(1, ['a', 'b', 'c']));
    await turn();
    expect(ac.seqs).toEqual([1, 3]);
    const again = new RecordingSubscriber(['a'], 3);
    h.add(again);
    h.deliver(batch(4, ['a', 'b']));
    await turn();
    expect(ac.seqs).toEqual([1, 3, 4]);
    expect(again.seqs).toEqual([4]);
    expect(a.sends).toEqual([]);
    expect(ab.sends).toEqual([]);
  });

  it('groups of one member (a private topic each): one removed between segments gets nothing, one joined by a second member mid-pass loses nothing', async () => {
    const { hub: h } = hub(1);
    const first = new RecordingSubscriber(['a', 'x1']);
    const second = new RecordingSubscriber(['a', 'x2']);
    const third = new RecordingSubscriber(['a', 'x3']);
    for (const s of [first, second, third]) h.add(s);
    h.deliver(batch(1, ['a']));
    await turn();
    expect(first.seqs).toEqual([1]);
    h.remove(second); // its group's one member, while the pass has yielded
    const joined = new RecordingSubscriber(['x1', 'a'], 1); // first's group gets a second member
    h.add(joined);
    h.deliver(batch(2, ['a', 'x1']));
    await until(() => third.seqs.length === 2 && first.seqs.length === 3 && joined.seqs.length === 2, 'every member served');
    expect(second.sends).toEqual([]);
    expect(first.seqs).toEqual([1, 2, 3]);
    expect(joined.seqs).toEqual([2, 3]);
    expect(third.seqs).toEqual([1, 2]);
  });

  it('sends nothing to a subscriber removed between two segments of a pass', async () => {
    const { hub: h } = hub(1);
    const first = new RecordingSubscriber(['a']);
    const second = new RecordingSubscriber(['a']);
    const third = new RecordingSubscriber(['a']);
    for (const s of [first, second, third]) h.add(s);
    h.deliver(batch(1, ['a']));
    await turn();
    expect(first.seqs).toEqual([1]);
    h.remove(second); // closes while the hub has yielded
    await until(() => third.sends.length === 1, 'third subscriber served');
    expect(second.sends).toEqual([]);
  });

  it('skips a subscriber that joins between segments after replaying the pass from history', async () => {
    const { hub: h } = hub(1);
    const early = [new RecordingSubscriber(['a']), new RecordingSubscriber(['a'])];
    for (const s of early) h.add(s);
    h.deliver(batch(1, ['a', 'a']));
    // the history already held 1..2 when this one replayed, so its lastSeq is 2
    const joiner = new RecordingSubscriber(['a'], 2);
    h.add(joiner);
    await until(() => early.every((s) => s.sends.length === 1), 'both early subscribers served');
    await turn();
    expect(joiner.sends).toEqual([]);
    h.deliver(batch(3, ['a']));
    await until(() => joiner.sends.length === 1, 'joiner gets the next live event');
    expect(joiner.seqs).toEqual([3]);
  });

  it('batches delivered during a pass join it: members not reached yet get old and new in one send, the others one send after', async () => {
    const { hub: h, stats } = hub(1);
    const x = new RecordingSubscriber(['a', 'b']);
    const y = new RecordingSubscriber(['a']);
    h.add(x);
    h.add(y);

    h.deliver(batch(1, ['a', 'b']));
    await turn();
    // segmentSize=1: x has been served, y waits for the next turn, so the pass is still running
    expect(x.sends).toHaveLength(1);
    expect(y.sends).toHaveLength(0);
    h.deliver(batch(3, ['b', 'a']));
    h.deliver(batch(5, ['a']));
    // queued, not sent in the middle of the running pass
    expect(x.sends).toHaveLength(1);

    await until(() => x.lastSeq === 5 && y.lastSeq === 5, 'everyone at seq 5');
    expect(x.seqs).toEqual([1, 2, 3, 4, 5]);
    expect(y.seqs).toEqual([1, 4, 5]);
    // x was served before batches 2 and 3 arrived: one send for those afterwards. y had not been
    // reached yet: everything in one send, a write saved for a shard that is behind.
    expect(x.sends.map((s) => s.events)).toEqual([2, 3]);
    expect(y.sends.map((s) => s.events)).toEqual([3]);
    expect(stats.passes).toEqual([2, 3]);
    // the merged gather spans two batches, and is still shared by its group
    expect(x.texts[1]).toBe(frame('b', 3) + frame('a', 4) + frame('a', 5));
  });

  it('members taking whole passes get the pass as it began (the very bytes the others got), then what it grew by', async () => {
    const { hub: h, stats } = hub(1);
    const first = new RecordingSubscriber(['a'], 0, true);
    const merging = new RecordingSubscriber(['a']);
    const whole = new RecordingSubscriber(['a'], 0, true);
    for (const s of [first, merging, whole]) h.add(s);
    h.deliver(batch(1, ['a', 'a']));
    await turn(); // segmentSize=1: first served, the pass is still running
    h.deliver(batch(3, ['a']));
    await until(() => [first, merging, whole].every((s) => s.lastSeq === 3), 'everyone at seq 3');
    expect(merging.sends.map((s) => s.events)).toEqual([3]); // not reached before the growth: one send
    for (const s of [first, whole]) {
      expect(s.seqs).toEqual([1, 2, 3]);
      expect(s.sends.map((x) => x.events)).toEqual([2, 1]);
    }
    // the same Uint8Array objects: what lets a shared encoder keep both in step
    expect(whole.sends[0]!.bytes).toBe(first.sends[0]!.bytes);
    expect(whole.sends[1]!.bytes).toBe(first.sends[1]!.bytes);
    expect(stats.passes).toEqual([2, 1]);
  });

  it('in a merged pass spanning batches, a subscriber whose lastSeq is inside it gets only the later events', async () => {
    const { hub: h } = hub(1);
    const busy = [new RecordingSubscriber(['a']), new RecordingSubscriber(['a'])];
    for (const s of busy) h.add(s);
    h.deliver(batch(1, ['a']));
    await turn(); // busy[1] is still waiting: the pass is running
    h.deliver(batch(2, ['a', 'b']));
    h.deliver(batch(4, ['b', 'a']));
    // they join the running pass; this one has already seen up to 3
    const mid = new RecordingSubscriber(['a', 'b'], 3);
    h.add(mid);
    await until(() => [...busy, mid].every((s) => s.lastSeq === 5), 'everyone at seq 5');
    expect(mid.texts).toEqual([frame('b', 4) + frame('a', 5)]);
    expect(mid.sends[0]!.events).toBe(2);
    for (const s of busy) expect(s.seqs).toEqual([1, 2, 5]);
  });

  it('batches that arrive in one turn share one pass, even when a segment never yields', async () => {
    const { hub: h, stats } = hub(1000); // one segment covers everyone: no yield to merge at
    const subs = [new RecordingSubscriber(['a']), new RecordingSubscriber(['a'])];
    for (const s of subs) h.add(s);
    // a shard that fell behind receives several batch messages in one turn
    h.deliver(batch(1, ['a']));
    h.deliver(batch(2, ['a']));
    h.deliver(batch(3, ['a', 'a']));
    await turn();
    for (const s of subs) {
      expect(s.sends.map((x) => x.events)).toEqual([4]); // one write per connection, not three
      expect(s.seqs).toEqual([1, 2, 3, 4]);
    }
    expect(stats.passes).toEqual([4]);
  });

  it('keeps delivering after passes complete (the hub is not left "passing")', async () => {
    const { hub: h } = hub(2);
    const subs = [1, 2, 3].map(() => new RecordingSubscriber(['t']));
    for (const s of subs) h.add(s);
    let seq = 1;
    for (let round = 0; round < 5; round++) {
      h.deliver(batch(seq, ['t', 't']));
      seq += 2;
      await until(() => subs.every((s) => s.lastSeq === seq - 1), `round ${round} delivered`);
    }
    for (const s of subs) {
      expect(s.seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(s.eventCount).toBe(10);
    }
  });

  it('many subscribers, many concurrent batches, small segments: every event exactly once and in order', async () => {
    const { hub: h } = hub(3);
    const topicSets = [['a'], ['b'], ['a', 'b'], ['c'], ['a', 'c'], ['a', 'b', 'c']];
    const subs = Array.from({ length: 17 }, (_, i) => new RecordingSubscriber(topicSets[i % topicSets.length]!, 0, i % 3 === 0));
    for (const s of subs) h.add(s);
    const published: Array<[number, string]> = [];
    let seq = 1;
    for (let round = 0; round < 6; round++) {
      const topics = ['a', 'b', 'c', 'a', 'c'].slice(0, 1 + (round % 5));
      topics.forEach((t, i) => published.push([seq + i, t]));
      h.deliver(batch(seq, topics));
      seq += topics.length;
      if (round % 2 === 1) await turn();
    }
    const last = seq - 1;
    await until(() => subs.every((s) => s.lastSeq === last), 'every subscriber at the last seq');
    for (const s of subs) {
      const expected = published.filter(([, t]) => s.topics.includes(t)).map(([n]) => n);
      expect(s.seqs).toEqual(expected);
      expect(s.eventCount).toBe(expected.length);
    }
  });
});
