// Encode-once gzip without uWS: a real Shard (history, hub, passes, segments) feeds streams that
// behave like the transport's SseStream (a WriteQueue with the gzip codec in front of a socket that
// may refuse writes), and identity twins. What is proven:
// - with sockets that always accept: every gzip stream's bytes, inflated by strict zlib after the
//   trailer, are exactly its identity twin's bytes, for any sequence of joins, resumes, leaves,
//   batches, heartbeats, event-loop turns and full-flush deadlines (but for heartbeats' places, and
//   a stream that left may lack the events not yet written to it: see expectTwin);
// - with sockets that refuse writes (drop and disconnect policies): every gzip stream's bytes inflate
//   exactly to the bytes its queue accepted, in order (the CRC and length in the trailer agree);
// - the shared context is used: members in step share compressed bytes, and out-of-step ones join.
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadConfig, type SlowConsumerPolicy } from '../../../src/config/config.js';
import { GzipGroups, type GzipEncoder, type GzipTuning, type WireCodec } from '../../../src/fanout/gzip-group.js';
import { Shard, type Stream } from '../../../src/fanout/shard.js';
import { WriteQueue } from '../../../src/fanout/write-queue.js';
import { BatchBuilder, type SharedBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodeComment, encodeEvent } from '../../../src/sequencing/sse-encoding.js';
import { createSharedCounters } from '../../../src/threads/shared-counters.js';
import { resumeBytes } from './resume-bytes.js';

const EPOCH = 'e1';
const HISTORY_SIZE = 12;
const config = loadConfig({ HISTORY_SIZE: String(HISTORY_SIZE), SEGMENT_SIZE: '2' });
const HEARTBEAT = encodeComment();
/** discarded encodes (a queued chunk over the bound), over all runs: the blocking properties must reach them */
let discards = 0;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A realistic ticker payload: repeating field names, changing numbers. */
function tick(topic: string, seq: number): string {
  return JSON.stringify({ topic, seq, symbol: `SYM${seq % 7}`, bid: (100 + ((seq * 37) % 1000) / 100).toFixed(2), ask: (100.05 + ((seq * 37) % 1000) / 100).toFixed(2), volume: (seq * 7919) % 100_000 });
}

class Publisher {
  seq = 0;
  batch(topics: string[]): SharedBatch {
    const builder = new BatchBuilder();
    for (const topic of topics) {
      const seq = ++this.seq;
      builder.add(seq, topic, encodeEvent({ id: formatId(EPOCH, seq), data: tick(topic, seq) }));
    }
    return builder.seal(EPOCH);
  }
}

/** A socket that takes every byte (uWS buffers what the kernel refuses) and says whether it wants more. */
class Endpoint implements Stream {
  readonly topics: readonly string[];
  lastSeq = 0;
  closed = false;
  /** the client went away (a leave step), not ended by the server once it had everything */
  left = false;
  accepting = true;
  readonly wire: Uint8Array[] = [];
  /** what the queue accepted, in wire order, before encoding */
  readonly accepted: Uint8Array[] = [];
  readonly queue: WriteQueue;
  /** as SseStream: gzip streams take whole passes */
  readonly wholePasses: boolean;
  constructor(
    topics: readonly string[],
    private readonly shard: Shard,
    readonly gzip: GzipEncoder | undefined,
    limits: { maxBackpressure: number; slowConsumer: SlowConsumerPolicy },
  ) {
    this.topics = [...new Set(topics)];
    this.wholePasses = gzip !== undefined;
    const accepted = this.accepted;
    const codec: WireCodec = {
      encode(raw) {
        accepted.push(raw);
        return gzip ? gzip.encode(raw) : raw;
      },
      discard() {
        discards++;
        accepted.pop();
        gzip?.discard();
      },
    };
    this.queue = new WriteQueue(limits, { dropped() {}, resetSent() {}, queued() {} }, codec);
  }
  open(head: Uint8Array): void {
    this.accepted.push(head);
    const wire = this.gzip ? this.gzip.open(head) : head;
    this.wire.push(wire);
    this.queue.written(wire.length, this.accepting, false);
  }
  send(bytes: Uint8Array, events: number): void {
    if (this.closed) return;
    const v = this.queue.offer(bytes, events);
    if (v === 'disconnect') return this.end();
    if (v instanceof Uint8Array) this.write(v);
  }
  heartbeat(): void {
    if (!this.closed && !this.queue.blocked) this.write(this.queue.encode(HEARTBEAT));
  }
  /** uWS onWritable: the socket drained */
  drain(): void {
    this.accepting = true;
    if (this.closed || !this.queue.blocked) return;
    if (!this.flush(this.queue.take() ?? this.queue.encode(HEARTBEAT))) return;
    const reset = this.queue.take();
    if (reset !== undefined) this.flush(reset);
  }
  end(): void {
    if (this.closed) return;
    this.closed = true;
    // The server closes a blocked stream abruptly (no trailer) and what its queue held never leaves;
    // here it leaves, so that the trailer checks the encoder's CRC and length over everything it encoded.
    const held = this.queue.take();
    if (held !== undefined) this.wire.push(held);
    if (this.gzip) {
      this.wire.push(this.gzip.trailer());
      this.gzip.close();
    }
    this.queue.clear();
    this.shard.unsubscribe(this);
  }
  private write(bytes: Uint8Array): void {
    this.wire.push(bytes);
    if (this.queue.written(bytes.length, this.accepting, true) === 'disconnect') this.end();
  }
  private flush(bytes: Uint8Array): boolean {
    this.wire.push(bytes);
    this.queue.written(bytes.length, this.accepting, false);
    return this.accepting;
  }
  get text(): string {
    return Buffer.concat(this.wire).toString('utf8');
  }
  /** strict: a complete member, CRC-32 and length checked */
  get inflated(): string {
    return gunzipSync(Buffer.concat(this.wire)).toString('utf8');
  }
}

type Step =
  | { kind: 'publish'; topics: string[] }
  | { kind: 'join'; topics: string[]; resume: number | undefined }
  | { kind: 'leave'; pick: number }
  | { kind: 'block'; pick: number }
  | { kind: 'drain'; pick: number }
  | { kind: 'heartbeat' }
  | { kind: 'turn' }
  | { kind: 'tick' };

const topic = fc.constantFrom('a', 'b', 'c');
const pick = fc.nat({ max: 40 });
const steps = (blocking: boolean): fc.Arbitrary<Step[]> =>
  fc.array(
    fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('publish' as const), topics: fc.array(topic, { minLength: 1, maxLength: 6 }) }) },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('join' as const),
          topics: fc.uniqueArray(topic, { minLength: 1, maxLength: 3 }),
          // how far back the resume id is (past HISTORY_SIZE: a reset); undefined: a new stream
          resume: fc.option(fc.nat({ max: HISTORY_SIZE + 4 }), { nil: undefined }),
        }),
      },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('leave' as const), pick }) },
      { weight: blocking ? 2 : 0, arbitrary: fc.record({ kind: fc.constant('block' as const), pick }) },
      { weight: blocking ? 2 : 0, arbitrary: fc.record({ kind: fc.constant('drain' as const), pick }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'heartbeat' as const }) },
      { weight: 4, arbitrary: fc.constant({ kind: 'turn' as const }) },
      { weight: 2, arbitrary: fc.constant({ kind: 'tick' as const }) },
    ),
    { minLength: 1, maxLength: 80 },
  );

interface RunResult {
  gzip: Endpoint[];
  identity: Endpoint[];
  shared: number;
  alone: number;
}

/** Plays `plan` on one shard; every gzip endpoint has an identity twin (same topics, same id, same socket). */
async function play(plan: Step[], limits: { maxBackpressure: number; slowConsumer: SlowConsumerPolicy }): Promise<RunResult> {
  let clock = 0;
  const stats = { shared: 0, alone: 0 };
  const tuning: GzipTuning = { level: 6, fullFlushMs: 250, fullFlushBytes: 4096, now: () => clock };
  const groups = new GzipGroups(tuning, { shared: (n) => (stats.shared += n), alone: (n) => (stats.alone += n) });
  const shard = new Shard(config, 0, createSharedCounters(1), EPOCH);
  const pub = new Publisher();
  const gzip: Endpoint[] = [];
  const identity: Endpoint[] = [];
  const live = (): Array<[Endpoint, Endpoint]> => gzip.map((g, i): [Endpoint, Endpoint] => [g, identity[i]!]).filter(([g, id]) => !g.closed || !id.closed);
  for (const st of plan) {
    switch (st.kind) {
      case 'publish':
        shard.receive(pub.batch(st.topics));
        break;
      case 'join': {
        const id = st.resume === undefined ? undefined : formatId(EPOCH, Math.max(0, pub.seq - st.resume));
        for (const [list, enc] of [
          [gzip, groups.encoder(st.topics)],
          [identity, undefined],
        ] as const) {
          const e = new Endpoint(st.topics, shard, enc, limits);
          e.open(Buffer.concat([Buffer.from(':ok\n\nretry: 3000\n\n'), ...resumeBytes(shard.subscribe(e, id))]));
          list.push(e);
        }
        break;
      }
      case 'leave':
      case 'block':
      case 'drain': {
        const pair = live()[st.pick % Math.max(1, live().length)];
        if (pair === undefined) break;
        if (st.kind === 'leave' && !pair[0].closed && !pair[1].closed && pair[0].lastSeq !== pair[1].lastSeq) {
          // a gzip member lags its twin only while the pass that reaches it is still to come
          let idle = false;
          shard.hub.whenIdle(() => (idle = true));
          expect(idle).toBe(false);
        }
        for (const e of pair) {
          e.left ||= st.kind === 'leave';
          if (st.kind === 'leave') e.end();
          else if (st.kind === 'block') e.accepting = false;
          else e.drain();
        }
        break;
      }
      case 'heartbeat':
        for (const [g, id] of live()) {
          g.heartbeat();
          id.heartbeat();
        }
        break;
      case 'turn':
        await turn();
        break;
      case 'tick':
        clock += 300;
        break;
    }
  }
  // everyone drains and gets a last event on every topic, then the server ends every stream
  for (const [g, id] of live()) {
    g.drain();
    id.drain();
  }
  shard.receive(pub.batch(['a', 'b', 'c']));
  for (let i = 0; i < 500 && [...gzip, ...identity].some((e) => !e.closed && e.lastSeq < pub.seq); i++) await turn();
  for (const e of [...gzip, ...identity]) e.end();
  expect(groups.size).toBe(0); // every group ended with its last member
  return { gzip, identity, ...stats };
}

// A gzip member takes whole passes, so an event a pass grew by reaches it one write later than its
// identity twin, and a heartbeat between the two writes lands on the other side of that event: the
// same events in the same order, the comment in another place (found by this property, seed 2011395624).
const withoutHeartbeats = (text: string): string => text.replace(/(?<=\n\n):\n\n/g, '');

/**
 * A gzip stream against its identity twin. For the same reason (whole passes), a pair that leaves
 * between the twin's write of a grown pass and the gzip member's write one pass later leaves the gzip
 * stream without those events: what a client gone a moment earlier would lack, never a gap (found by
 * the property, seed 1779620728). So it is the twin's stream cut between two events, and what it lacks
 * are only events the hub had not given it (past its lastSeq); nothing for a stream that stayed.
 */
function expectTwin(g: Endpoint, twin: Endpoint): void {
  const gz = withoutHeartbeats(g.inflated);
  const tw = withoutHeartbeats(twin.text);
  expect(tw.slice(0, gz.length)).toBe(gz);
  expect(gz.endsWith('\n\n')).toBe(true); // no block holds a blank line: the cut is between two
  const rest = tw.slice(gz.length);
  if (!g.left) return void expect(rest).toBe('');
  for (const block of rest.split('\n\n').slice(0, -1)) {
    const seq = /^id: e1-(\d+)\ndata: /.exec(block)?.[1];
    expect(Number(seq), block).toBeGreaterThan(g.lastSeq);
  }
}

describe('gzip streams, compressed once per group', () => {
  it('sockets that always accept: each gzip stream inflates (strictly) to exactly its identity twin\'s bytes (property)', async () => {
    let shared = 0;
    let alone = 0;
    await fc.assert(
      fc.asyncProperty(steps(false), async (plan) => {
        const r = await play(plan, { maxBackpressure: 1 << 20, slowConsumer: 'disconnect' });
        for (let i = 0; i < r.gzip.length; i++) expectTwin(r.gzip[i]!, r.identity[i]!);
        shared += r.shared;
        alone += r.alone;
      }),
      { numRuns: 200 },
    );
    expect(shared).toBeGreaterThan(alone); // most bytes went through the shared contexts
  });

  it('a pair that leaves before the pass that brings the gzip member what the pass grew by: it lacks only that event', async () => {
    const plan: Step[] = [
      { kind: 'join', topics: ['a'], resume: undefined },
      { kind: 'publish', topics: ['a'] },
      { kind: 'turn' }, // the pass of e1-1 fills a segment (SEGMENT_SIZE=2) with the pair on 'a' and yields
      { kind: 'join', topics: ['c'], resume: undefined },
      { kind: 'publish', topics: ['c'] }, // e1-2 grows that pass: the identity twin gets it, the gzip member next pass
      { kind: 'turn' },
      { kind: 'leave', pick: 1 }, // the pair on 'c', before that next pass
      { kind: 'publish', topics: ['a'] },
    ];
    const r = await play(plan, { maxBackpressure: 1 << 20, slowConsumer: 'disconnect' });
    expect(r.identity[1]!.text).toContain('id: e1-2\n');
    expect(r.gzip[1]!.inflated).toBe(':ok\n\nretry: 3000\n\n');
    for (let i = 0; i < r.gzip.length; i++) expectTwin(r.gzip[i]!, r.identity[i]!);
  });

  it.each<SlowConsumerPolicy>(['drop', 'disconnect'])(
    'sockets that refuse writes (SLOW_CONSUMER=%s): each gzip stream inflates to exactly what its queue accepted, in order (property)',
    async (slowConsumer) => {
      discards = 0;
      await fc.assert(
        fc.asyncProperty(steps(true), async (plan) => {
          const r = await play(plan, { maxBackpressure: 200, slowConsumer });
          for (const g of r.gzip) {
            const accepted = Buffer.concat(g.accepted).toString('utf8');
            expect(g.inflated).toBe(accepted);
            // and it is a sane SSE stream: ids strictly increase (no duplicate, no reordering)
            const ids = [...accepted.matchAll(/^id: e1-(\d+)$/gm)].map((m) => Number(m[1]));
            for (let k = 1; k < ids.length; k++) expect(ids[k]!).toBeGreaterThanOrEqual(ids[k - 1]!);
          }
        }),
        // a fixed seed: the coverage check below must not depend on luck (GZIP_SEED explores others)
        { numRuns: Number(process.env['GZIP_RUNS'] ?? 150), seed: Number(process.env['GZIP_SEED'] ?? 7) },
      );
      if (slowConsumer === 'drop') expect(discards).toBeGreaterThan(0);
    },
  );

  it('members in step share the same compressed bytes; a late joiner shares them after the next full flush', () => {
    let clock = 0;
    const groups = new GzipGroups({ level: 6, fullFlushMs: 250, fullFlushBytes: 1 << 20, now: () => clock });
    const [x, y] = [groups.encoder(['t']), groups.encoder(['t'])];
    x.open(Buffer.from(':ok\n\n'));
    y.open(Buffer.from(':ok\n\n'));
    const ev = (i: number): Buffer => encodeEvent({ id: String(i), data: tick('t', i) });
    let e = ev(1);
    expect(x.inStep).toBe(true); // the first member started the shared stream
    const bx = x.encode(e);
    const by = y.encode(e);
    expect(y.inStep).toBe(false); // joined with its own head: out of step until a full flush
    expect(by).not.toBe(bx);
    clock += 250;
    e = ev(2);
    expect(x.encode(e)).toBe(y.encode(e)); // the same Buffer: compressed once for both
    expect(y.inStep).toBe(true);
    x.close();
    y.close();
    expect(groups.size).toBe(0);
  });

  it('a pass that grows between segments keeps every member in step: nothing is compressed alone', async () => {
    let clock = 0;
    const stats = { shared: 0, alone: 0 };
    const groups = new GzipGroups({ level: 6, fullFlushMs: 250, fullFlushBytes: 1 << 20, now: () => clock }, { shared: (n) => (stats.shared += n), alone: (n) => (stats.alone += n) });
    const shard = new Shard(config, 0, createSharedCounters(1), EPOCH); // SEGMENT_SIZE=2
    const pub = new Publisher();
    const members = Array.from({ length: 5 }, () => new Endpoint(['a'], shard, groups.encoder(['a']), { maxBackpressure: 1 << 20, slowConsumer: 'disconnect' }));
    for (const m of members) m.open(Buffer.concat([Buffer.from(':ok\n\n'), ...resumeBytes(shard.subscribe(m, undefined))]));
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 50 && members.some((m) => m.lastSeq < pub.seq); i++) await turn();
    };
    clock += 250; // a full flush is due: the next pass brings everyone in step
    shard.receive(pub.batch(['a']));
    await settle();
    expect(members.every((m) => m.gzip!.inStep)).toBe(true);
    const aloneBefore = stats.alone;
    for (let round = 0; round < 3; round++) {
      shard.receive(pub.batch(['a', 'a']));
      await turn(); // the pass has served its first segment and yielded
      shard.receive(pub.batch(['a'])); // it grows
      await settle();
    }
    expect(stats.alone).toBe(aloneBefore);
    expect(members.every((m) => m.gzip!.inStep)).toBe(true);
    for (const m of members) {
      m.end();
      expect(m.inflated).toBe(members[0]!.inflated);
    }
  });
});
