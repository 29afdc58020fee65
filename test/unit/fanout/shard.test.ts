// A shard without uWS: batches go in through receive() (as the pool's messages would), streams are
// plain recorders of what they are sent, and what a stream must write first is subscribe()'s head.
// What is proven: a resume is exactly the events after the id, once, in order, however batches and
// subscriptions interleave; unresumable ids get a reset; counters and token expiry.
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { CATCH_UP_MS, Shard, type Stream } from '../../../src/fanout/shard.js';
import { BatchBuilder, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodeEvent, encodeReset, type ResetReason } from '../../../src/sequencing/sse-encoding.js';
import { createSharedCounters, SHARD_SLOT, SHARD_SLOTS, type SharedCounters } from '../../../src/threads/shared-counters.js';
import { replayed, resumeBytes } from './resume-bytes.js';

const EPOCH = 'e1';
const HISTORY_SIZE = 8;
const config = loadConfig({ HISTORY_SIZE: String(HISTORY_SIZE), SEGMENT_SIZE: '2' });

/** Sequences events like the main thread: consecutive seqs, sealed batches; remembers what it published. */
class Publisher {
  seq = 0;
  readonly published: Array<{ seq: number; topic: string }> = [];
  constructor(readonly epoch = EPOCH) {}
  /** the next batch, one event per topic; each event's data is `<topic>#<seq>` */
  batch(topics: string[]): SharedBatch {
    const builder = new BatchBuilder();
    for (const topic of topics) {
      const seq = ++this.seq;
      builder.add(seq, topic, encodeEvent({ id: formatId(this.epoch, seq), data: `${topic}#${seq}` }));
      this.published.push({ seq, topic });
    }
    return builder.seal(this.epoch);
  }
  /** the wire text of every published event after `afterSeq` on `topics` */
  after(afterSeq: number, topics: readonly string[]): string {
    return this.published
      .filter((e) => e.seq > afterSeq && topics.includes(e.topic))
      .map((e) => frame(e.topic, e.seq, this.epoch))
      .join('');
  }
}

const frame = (topic: string, seq: number, epoch = EPOCH): string => `id: ${epoch}-${seq}\ndata: ${topic}#${seq}\n\n`;
const utf8 = (chunks: readonly Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');
/** What a resume that cannot be honoured starts with, built from the encoders so it follows them. */
const resetHead = (reason: ResetReason, epoch: string, lastSeq: number): string => utf8([encodeReset(reason, formatId(epoch, lastSeq))]);

class TestStream implements Stream {
  readonly topics: readonly string[];
  lastSeq = 0;
  head: Uint8Array[] = [];
  readonly sends: Array<{ bytes: Uint8Array; events: number }> = [];
  ends = 0;
  constructor(topics: string[]) {
    this.topics = [...new Set(topics)];
  }
  send(bytes: Uint8Array, events: number): void {
    this.sends.push({ bytes, events });
  }
  end(): void {
    this.ends++;
  }
  /** what the client read: the head, then every live send */
  get received(): string {
    return utf8([...this.head, ...this.sends.map((s) => s.bytes)]);
  }
  get live(): string {
    return utf8(this.sends.map((s) => s.bytes));
  }
}

function shard(epoch = EPOCH, index = 0): Shard {
  return new Shard(config, index, createSharedCounters(2), epoch);
}

/** Joins like the transport does: subscribe() and keep its head as the stream's first write. */
function join(s: Shard, topics: string[], lastEventId?: string, expiresAt?: number): TestStream {
  const stream = new TestStream(topics);
  stream.head = resumeBytes(s.subscribe(stream, lastEventId, expiresAt));
  return stream;
}

/** One turn of the event loop's check phase, where the hub's fan-out continues. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function untilTurns(done: () => boolean, what: string, maxTurns = 200): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (done()) return;
    await turn();
  }
  throw new Error(`not reached after ${maxTurns} event-loop turns: ${what}`);
}

/** Polls (for timers, which turns alone do not advance) until `done()` holds, failing after 2 s. */
async function poll(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('Shard.subscribe without an id', () => {
  it('gives a new stream an empty head, skips what was published before, then sends live events', async () => {
    const s = shard();
    const pub = new Publisher();
    s.receive(pub.batch(['a', 'a']));
    const stream = join(s, ['a']);
    expect(stream.head).toEqual([]);
    expect(stream.lastSeq).toBe(2);
    await turn(); // the pass of the first batch runs now: this stream joined after it reached the history
    expect(stream.sends).toEqual([]);
    s.receive(pub.batch(['b', 'a']));
    await untilTurns(() => stream.lastSeq === 4, 'the live batch');
    expect(stream.live).toBe(frame('a', 4));
  });
});

describe('Shard resume: replay then live, no gap, no duplicate', () => {
  it('an id in the middle of the history, with batches arriving before, during and after the join', async () => {
    const s = shard();
    const pub = new Publisher();
    // segments of 2: with 5 streams ahead, the pass is still running when the resuming stream joins
    const fillers = Array.from({ length: 5 }, () => join(s, ['a', 'b']));
    s.receive(pub.batch(['a', 'b', 'a'])); // 1..3
    await turn(); // the pass of 1..3 has served 2 of 5 fillers and yielded
    s.receive(pub.batch(['b', 'a'])); // 4..5, joins the running pass
    const resumed = join(s, ['a'], formatId(EPOCH, 2));
    expect(utf8(resumed.head)).toBe(frame('a', 3) + frame('a', 5)); // replay: after 2, topic a only
    s.receive(pub.batch(['a'])); // 6, same turn as the join
    await turn();
    s.receive(pub.batch(['a', 'b'])); // 7..8
    await untilTurns(() => [resumed, ...fillers].every((x) => x.lastSeq === 8), 'everyone at 8');
    expect(resumed.received).toBe(pub.after(2, resumed.topics));
    for (const f of fillers) expect(f.received).toBe(pub.after(0, f.topics));
  });

  it('a resume of 140,000 events is read in chunks, never gathered into one array (that threw RangeError past about 125,000)', () => {
    const s = new Shard(loadConfig({ HISTORY_SIZE: '140010', DATA_DIR: '' }), 0, createSharedCounters(1), EPOCH);
    const pub = new Publisher();
    for (let left = 140_000; left > 0; left -= 256) s.receive(pub.batch(Array.from({ length: Math.min(256, left) }, () => 't')));
    const stream = new TestStream(['t']);
    const resume = s.subscribe(stream, formatId(EPOCH, 0));
    expect(resume.reset).toBeUndefined();
    expect(stream.lastSeq).toBe(140_000); // live events start after the replay
    const chunks = replayed(resume.replay, 65_536);
    const text = utf8(chunks);
    expect(text.startsWith(frame('t', 1))).toBe(true);
    expect(text.endsWith(frame('t', 140_000))).toBe(true);
    expect(text.length).toBe(pub.after(0, stream.topics).length);
    expect(chunks.length).toBeGreaterThan(text.length / (2 * 65_536));
    expect(s.counters.get(SHARD_SLOT.REPLAYED_EVENTS)).toBe(140_000);
  });

  it('an id equal to the newest event: nothing replayed, the next event live', async () => {
    const s = shard();
    const pub = new Publisher();
    s.receive(pub.batch(['a', 'a', 'a']));
    const stream = join(s, ['a'], formatId(EPOCH, 3));
    expect(stream.head).toEqual([]);
    s.receive(pub.batch(['a']));
    await untilTurns(() => stream.lastSeq === 4, 'the live event');
    expect(stream.received).toBe(frame('a', 4));
  });

  type Step =
    | { kind: 'receive'; topics: string[] }
    | { kind: 'subscribe'; topics: string[]; back: number | undefined }
    | { kind: 'turn' };
  const topic = fc.constantFrom('a', 'b', 'c');
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('receive' as const), topics: fc.array(topic, { minLength: 1, maxLength: 4 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('subscribe' as const),
        topics: fc.uniqueArray(topic, { minLength: 1, maxLength: 3 }),
        // how far back from the newest event the stream's id is; undefined: a new stream. Past the
        // window (HISTORY_SIZE) the id cannot be resumed.
        back: fc.option(fc.nat({ max: HISTORY_SIZE + 4 }), { nil: undefined }),
      }),
    },
    { weight: 3, arbitrary: fc.constant({ kind: 'turn' as const }) },
  );

  it('any interleaving of batches, joins and event-loop turns: each stream gets exactly what its id missed, then live (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 30 }), async (steps) => {
        const s = shard();
        const pub = new Publisher();
        const streams: Array<{ stream: TestStream; expected: () => string }> = [];
        for (const st of steps) {
          if (st.kind === 'receive') s.receive(pub.batch(st.topics));
          else if (st.kind === 'turn') await turn();
          else {
            const newest = pub.seq;
            const windowStart = Math.max(1, newest - HISTORY_SIZE + 1);
            const from = st.back === undefined ? undefined : Math.max(0, newest - st.back);
            const stream = join(s, st.topics, from === undefined ? undefined : formatId(EPOCH, from));
            if (from === undefined) streams.push({ stream, expected: () => pub.after(newest, stream.topics) });
            else if (from < windowStart - 1) {
              streams.push({ stream, expected: () => resetHead('history', EPOCH, newest) + pub.after(newest, stream.topics) });
            } else streams.push({ stream, expected: () => pub.after(from, stream.topics) });
          }
        }
        // a last batch on every topic, so that every stream's group is reached by a pass
        s.receive(pub.batch(['a', 'b', 'c']));
        await untilTurns(() => streams.every((x) => x.stream.lastSeq === pub.seq), 'every stream at the newest event');
        for (const { stream, expected } of streams) expect(stream.received).toBe(expected());
      }),
      { numRuns: 150 },
    );
  });
});

describe('Shard resume that cannot be honoured: a reset, then the current position', () => {
  const filled = (): { s: Shard; pub: Publisher } => {
    const s = shard();
    const pub = new Publisher();
    s.receive(pub.batch(['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'])); // 1..10, window holds 3..10
    return { s, pub };
  };

  it.each<[string, string, ResetReason]>([
    ['an unparseable id', 'garbage', 'history'],
    ['an id from another epoch', formatId('e0', 5), 'epoch'],
    ['an id older than the window', formatId(EPOCH, 1), 'history'],
  ])('%s (%s) -> reset "%s": the head is the reset frame carrying the newest event\'s id', async (_what, id, reason) => {
    const { s, pub } = filled();
    const stream = join(s, ['a'], id);
    expect(utf8(stream.head)).toBe(resetHead(reason, EPOCH, 10));
    expect(stream.lastSeq).toBe(10);
    expect(s.counters.get(SHARD_SLOT.RESETS)).toBe(1);
    expect(s.counters.get(SHARD_SLOT.REPLAYED_EVENTS)).toBe(0);
    s.receive(pub.batch(['a']));
    await untilTurns(() => stream.lastSeq === 11, 'the live event');
    expect(stream.live).toBe(frame('a', 11)); // live goes on, nothing of 1..10 follows the reset
  });

  it('the reset\'s id is resumable: the reconnect that carries it gets no second reset', () => {
    const { s } = filled();
    join(s, ['a'], 'garbage');
    const again = join(s, ['a'], formatId(EPOCH, 10));
    expect(again.head).toEqual([]);
    expect(s.counters.get(SHARD_SLOT.RESETS)).toBe(1);
  });

  it('the oldest resumable id is the one just before the window', () => {
    const { s } = filled();
    const stream = join(s, ['b'], formatId(EPOCH, 2));
    expect(utf8(stream.head)).toBe(frame('b', 4) + frame('b', 6) + frame('b', 8) + frame('b', 10));
    expect(s.counters.get(SHARD_SLOT.RESETS)).toBe(0);
  });
});

describe('Shard counters', () => {
  it('count connections, replayed events and resets in the shard\'s own row', () => {
    const shared = createSharedCounters(2);
    const s = new Shard(config, 1, shared, EPOCH);
    const pub = new Publisher();
    s.receive(pub.batch(['a', 'b', 'a', 'a']));
    const x = join(s, ['a'], formatId(EPOCH, 0)); // replays 3
    const y = join(s, ['a', 'b'], formatId(EPOCH, 2)); // replays 2
    const z = join(s, ['b'], 'garbage'); // a reset
    expect(s.counters.get(SHARD_SLOT.CONNECTIONS)).toBe(3);
    expect(s.counters.get(SHARD_SLOT.REPLAYED_EVENTS)).toBe(5);
    expect(s.counters.get(SHARD_SLOT.RESETS)).toBe(1);
    s.unsubscribe(x);
    s.unsubscribe(z);
    expect(s.counters.get(SHARD_SLOT.CONNECTIONS)).toBe(1);
    s.unsubscribe(y);
    expect(s.counters.get(SHARD_SLOT.CONNECTIONS)).toBe(0);
    // row 0 belongs to another shard and was not touched
    expect([...shared.perShard.subarray(0, SHARD_SLOTS)].every((v) => v === 0)).toBe(true);
    expect(shared.perShard[SHARD_SLOTS + SHARD_SLOT.REPLAYED_EVENTS]).toBe(5);
  });

  it('count fan-out passes and their events', async () => {
    const s = shard();
    const pub = new Publisher();
    const stream = join(s, ['a']);
    s.receive(pub.batch(['a', 'b']));
    s.receive(pub.batch(['a'])); // same turn: the same pass
    await untilTurns(() => stream.lastSeq === 3, 'the pass');
    expect(s.counters.get(SHARD_SLOT.FANOUT_EVENTS)).toBe(3);
    expect(s.counters.get(SHARD_SLOT.FANOUT_PASSES)).toBe(1);
    expect(s.counters.get(SHARD_SLOT.SEGMENTS)).toBe(1);
  });

  it('an unsubscribed stream is sent nothing more', async () => {
    const s = shard();
    const pub = new Publisher();
    const gone = join(s, ['a']);
    const kept = join(s, ['a']);
    s.unsubscribe(gone);
    s.receive(pub.batch(['a']));
    await untilTurns(() => kept.lastSeq === 1, 'the live event');
    expect(gone.sends).toEqual([]);
  });
});

describe('Shard token expiry', () => {
  it('ends the stream at its expiry and counts it', async () => {
    const s = shard();
    const stream = join(s, ['a'], undefined, Date.now() + 30);
    expect(stream.ends).toBe(0);
    await poll(() => stream.ends > 0, 'end() at the token expiry');
    expect(stream.ends).toBe(1);
    expect(s.counters.get(SHARD_SLOT.JWT_EXPIRED)).toBe(1);
    s.unsubscribe(stream); // what the transport does once the stream ended
  });

  it('a stream unsubscribed before its expiry is never ended by it; one still open is, once', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const s = shard();
    const left = join(s, ['a'], undefined, Date.now() + 1_000);
    const stayed = join(s, ['a'], undefined, Date.now() + 1_000);
    const noToken = join(s, ['a']);
    s.unsubscribe(left);
    vi.advanceTimersByTime(999);
    expect(stayed.ends).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(left.ends).toBe(0);
    expect(stayed.ends).toBe(1);
    expect(noToken.ends).toBe(0);
    expect(s.counters.get(SHARD_SLOT.JWT_EXPIRED)).toBe(1);
  });

  it('a token exp 30 days away (past what one setTimeout can wait) leaves the stream open until then', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const s = shard();
    const at = Date.now() + 30 * 86_400_000;
    const stream = join(s, ['a'], undefined, at);
    vi.advanceTimersByTime(60_000);
    expect(stream.ends).toBe(0);
    vi.advanceTimersByTime(at - Date.now());
    expect(stream.ends).toBe(1);
    expect(s.counters.get(SHARD_SLOT.JWT_EXPIRED)).toBe(1);
  });

  it('an expiry already past ends the stream on the next timer, not inside subscribe', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const s = shard();
    const stream = join(s, ['a'], undefined, Date.now() - 5_000);
    expect(stream.ends).toBe(0); // the head must be written first
    vi.advanceTimersByTime(0);
    expect(stream.ends).toBe(1);
  });
});

describe('Shard epoch change (cluster mode: the log came back empty)', () => {
  it('sends every stream the epoch reset frame, then the new epoch\'s events from its start', async () => {
    const s = shard();
    const old = new Publisher();
    s.receive(old.batch(['a', 'b', 'a']));
    const onA = join(s, ['a']);
    const onB = join(s, ['b']);
    await turn();
    const fresh = new Publisher('e2');
    s.receive(fresh.batch(['a']));
    const resetEpoch = Buffer.from(encodeReset('epoch', formatId('e2', 0)));
    for (const x of [onA, onB]) expect(Buffer.from(x.sends[0]!.bytes).equals(resetEpoch)).toBe(true); // at once, even to b
    await untilTurns(() => onA.lastSeq === 1, 'the new epoch\'s first event');
    expect(onA.live).toBe(resetEpoch.toString() + frame('a', 1, 'e2'));
    expect(onB.live).toBe(resetEpoch.toString());
    // ids of the old epoch are now another epoch's
    expect(utf8(join(s, ['a'], formatId(EPOCH, 3)).head)).toBe(resetHead('epoch', 'e2', 1));
    expect(utf8(join(s, ['a'], formatId('e2', 0)).head)).toBe(frame('a', 1, 'e2'));
  });
});

describe('Shard: numbers lost for good (a shard died holding them)', () => {
  it('each stream gets every event before them, then one reset in their place, then the events after them; a stream that joins after gets none', async () => {
    const s = shard();
    const pub = new Publisher();
    // segments of 2: with 5 streams, the pass of 1..2 is still running when the batch after the break comes
    const streams = Array.from({ length: 5 }, () => join(s, ['a']));
    s.receive(pub.batch(['a', 'a'])); // 1..2
    await turn();
    pub.seq = 4; // 3..4 were never sent
    s.receive(pub.batch(['a'])); // 5
    const late = join(s, ['a']);
    s.receive(pub.batch(['a'])); // 6
    await untilTurns(() => streams.every((x) => x.lastSeq === 6) && late.lastSeq === 6, 'everyone at 6');
    for (const x of streams) expect(x.received).toBe(frame('a', 1) + frame('a', 2) + resetHead('dropped', EPOCH, 4) + frame('a', 5) + frame('a', 6));
    expect(late.received).toBe(frame('a', 6));
  });
});

describe('Shard.seed', () => {
  it('a fresh shard seeded with the retained batches resumes like the shard it replaces', () => {
    const original = shard();
    const pub = new Publisher();
    for (const topics of [['a', 'b'], ['a'], ['b', 'a', 'a']]) original.receive(pub.batch(topics));

    const unseeded = shard();
    const seeded = shard();
    seeded.seed(original.history.batches.map((b) => b.shared));

    const id = formatId(EPOCH, 2);
    const expected = pub.after(2, ['a']);
    expect(utf8(join(original, ['a'], id).head)).toBe(expected);
    expect(utf8(join(seeded, ['a'], id).head)).toBe(expected);
    expect(utf8(join(unseeded, ['a'], id).head)).not.toContain(frame('a', 3)); // without the seed the replay would be lost
  });

  it('a new stream on a seeded shard starts at the newest seeded event and gets the next batch live', async () => {
    const s = shard();
    const pub = new Publisher();
    s.seed([pub.batch(['a']), pub.batch(['a'])]);
    const stream = join(s, ['a']);
    expect(stream.head).toEqual([]);
    expect(stream.lastSeq).toBe(2);
    s.receive(pub.batch(['a']));
    await untilTurns(() => stream.lastSeq === 3, 'the next batch');
    expect(stream.received).toBe(frame('a', 3));
  });
});

/** Numbers claimed on this server (by any shard) up to `seq`, as SharedSequence would leave them. */
const claimUpTo = (shared: SharedCounters, seq: number): void => void Atomics.store(shared.position, 0, BigInt(seq));

describe('Shard.catchUp: a Last-Event-ID ahead of this shard', () => {
  const never = (): void => {
    throw new Error('ready called for an id with nothing to wait for');
  };

  it('nothing to wait for when the id is not ahead, unparseable, or from another epoch', () => {
    const s = shard();
    const pub = new Publisher();
    s.receive(pub.batch(['a', 'a']));
    for (const id of [undefined, 'garbage', formatId(EPOCH, 2), formatId(EPOCH, 1), formatId('other', 9)]) expect(s.catchUp(id, never)).toBeUndefined();
  });

  it('one server: an id past everything this server sequenced is not waited for (subscribe answers a reset)', () => {
    const shared = createSharedCounters(1);
    claimUpTo(shared, 3);
    const s = new Shard(config, 0, shared, EPOCH);
    expect(s.catchUp(formatId(EPOCH, 4), never)).toBeUndefined();
    expect(utf8(join(s, ['a'], formatId(EPOCH, 4)).head)).toBe(resetHead('history', EPOCH, 0));
  });

  it('one server: an id sequenced but not yet here waits for the batch, then resumes without a reset', async () => {
    const shared = createSharedCounters(1);
    const s = new Shard(config, 0, shared, EPOCH);
    const pub = new Publisher();
    s.receive(pub.batch(['a']));
    claimUpTo(shared, 3); // another shard already gave out 2 and 3
    let ready = 0;
    expect(s.catchUp(formatId(EPOCH, 2), () => ready++)).toBeTypeOf('function');
    await turn();
    expect(ready).toBe(0);
    s.receive(pub.batch(['a', 'a']));
    expect(ready).toBe(1);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(0);
    expect(utf8(join(s, ['a'], formatId(EPOCH, 2)).head)).toBe(frame('a', 3));
  });

  const clustered = (): Shard => new Shard(loadConfig({ HISTORY_SIZE: '8', REDIS_URL: 'redis://127.0.0.1:1' }), 0, createSharedCounters(1), EPOCH);

  it('cluster mode: an id past this server waits, bounded by CATCH_UP_MS, then leaves and subscribe answers a reset', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const s = clustered();
    let ready = 0;
    s.catchUp(formatId(EPOCH, 50), () => ready++);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(1);
    vi.advanceTimersByTime(CATCH_UP_MS);
    expect(ready).toBe(1);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(0);
    expect(utf8(join(s, ['a'], formatId(EPOCH, 50)).head)).toBe(resetHead('history', EPOCH, 0));
  });

  it('a waiter whose client went away leaves at once and is never made ready', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const s = clustered();
    const stops = Array.from({ length: 100 }, (_, i) => s.catchUp(formatId(EPOCH, 1_000 + i), never)!);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(100);
    for (const stop of stops) stop();
    for (const stop of stops) stop(); // twice: no effect
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(0);
    vi.advanceTimersByTime(CATCH_UP_MS);
    s.receive(new Publisher().batch(Array.from({ length: 8 }, () => 'a')));
  });

  it('a batch makes ready exactly the waiters it satisfies, in any order of arrival; the others wait on', () => {
    const s = clustered();
    const pub = new Publisher();
    const waits = [7, 3, 9, 3, 12, 5, 10, 1].map((seq) => ({ seq, ready: 0, stop: undefined as (() => void) | undefined }));
    for (const w of waits) w.stop = s.catchUp(formatId(EPOCH, w.seq), () => w.ready++);
    waits[6]!.stop!(); // the client waiting for 10 went away
    s.receive(pub.batch(['a', 'a', 'a', 'a', 'a'])); // 1..5
    expect(waits.filter((w) => w.ready === 1).map((w) => w.seq).sort((a, b) => a - b)).toEqual([1, 3, 3, 5]);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(3);
    s.receive(pub.batch(['a', 'a', 'a', 'a', 'a'])); // 6..10
    expect(waits.filter((w) => w.ready === 1).map((w) => w.seq).sort((a, b) => a - b)).toEqual([1, 3, 3, 5, 7, 9]);
    expect(waits.every((w) => w.ready <= 1)).toBe(true);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(1);
    for (const w of waits) w.stop!();
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(0);
  });

  it('a new epoch makes every waiter ready at once: their ids are of the old one', () => {
    const s = clustered();
    let ready = 0;
    s.catchUp(formatId(EPOCH, 500), () => ready++);
    s.receive(new Publisher('e2').batch(['a']));
    expect(ready).toBe(1);
    expect(s.counters.get(SHARD_SLOT.RESUME_WAITERS)).toBe(0);
  });
});

describe('Shard presence', () => {
  it('counts streams per topic on subscribe and unsubscribe only; a second unsubscribe changes nothing', () => {
    const s = shard();
    const a = join(s, ['a']);
    const ab = join(s, ['a', 'b']);
    expect([s.presence.get('a'), s.presence.get('b')]).toEqual([2, 1]);
    s.receive(new Publisher().batch(['a', 'b', 'a'])); // fan-out does not touch the counts
    expect([s.presence.get('a'), s.presence.get('b')]).toEqual([2, 1]);
    s.unsubscribe(ab);
    s.unsubscribe(ab);
    expect([s.presence.get('a'), s.presence.get('b')]).toEqual([1, 0]);
    s.unsubscribe(a);
    expect(s.presence.size).toBe(0);
  });
});
