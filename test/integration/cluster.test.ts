// Cluster mode: two servers and one real Redis behave as one server.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

const seqOf = (id: string | undefined): number => Number(id!.split('-')[1]);

let redis: RedisServer;
let a: TestServer;
let b: TestServer;
const streams: RawStream[] = [];
const open = async (server: TestServer, query: string, headers: Record<string, string> = {}): Promise<RawStream> => {
  const s = await openStream(`${server.url}/events?${query}`, headers);
  streams.push(s);
  return s;
};

beforeAll(async () => {
  redis = await startRedisServer({ persist: true });
  [a, b] = await Promise.all([startServer({ REDIS_URL: redis.url, HEARTBEAT_MS: '200' }), startServer({ REDIS_URL: redis.url, HEARTBEAT_MS: '200' })]);
});
afterEach(() => {
  streams.splice(0).forEach((s) => s.close());
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

describe('cluster mode (REDIS_URL)', () => {
  it('an event published on A reaches subscribers on B, once', async () => {
    const onB = await open(b, 'topic=cross');
    const onA = await open(a, 'topic=cross');
    const id = await a.publish('cross', 'hello from A');
    const [ev] = await onB.waitForEvents(1);
    expect(ev).toMatchObject({ id, data: 'hello from A' });
    await onA.waitForEvents(1);
    await b.publish('cross', 'marker');
    await onB.waitForEvents(2);
    expect(onB.events.map((e) => e.data)).toEqual(['hello from A', 'marker']);
  });

  it('one global order across servers under concurrent publishers on both', async () => {
    const subs = [await open(a, 'topic=global'), await open(b, 'topic=global'), await open(b, 'topic=global')];
    await Promise.all(
      [a, a, b, b].map(async (server, p) => {
        for (let i = 0; i < 60; i++) await server.publish('global', `p${p}-${i}`);
      }),
    );
    for (const s of subs) await s.waitForEvents(240);
    const reference = subs[0]!.events.map((e) => e.id);
    expect(reference.map(seqOf)).toEqual(Array.from({ length: 240 }, (_, i) => seqOf(reference[0]) + i));
    for (const s of subs) expect(s.events.map((e) => e.id)).toEqual(reference);
  });

  it('each server counts the events it published, at once, and their publish latencies, whichever thread called Redis', async () => {
    // Latencies reach the main thread in bulk, up to 100 ms late: let those of earlier tests land first.
    let latenciesA = await a.metric('sse_publish_latency_seconds_count');
    for (let before = -1; latenciesA !== before; latenciesA = await a.metric('sse_publish_latency_seconds_count')) {
      before = latenciesA;
      await new Promise((r) => setTimeout(r, 300));
    }
    const [publishedA, publishedB] = [await a.metric('sse_events_published_total'), await b.metric('sse_events_published_total')];
    for (let i = 0; i < 5; i++) await a.publish('counted', `one ${i}`);
    await Promise.all(Array.from({ length: 15 }, (_, i) => a.publish('counted', `many ${i}`)));
    // every publisher that got its 202 finds its event in the next scrape
    expect(await a.metric('sse_events_published_total')).toBe(publishedA + 20);
    expect(await b.metric('sse_events_published_total')).toBe(publishedB);
    await waitFor(async () => (await a.metric('sse_publish_latency_seconds_count')) === latenciesA + 20, 'the 20 publish latencies on A');
  });

  it('a client resumes on B with an id it received from A: no gap, no duplicate', async () => {
    const onA = await open(a, 'topic=move');
    const first = await a.publish('move', 'one');
    await onA.waitForEvents(1);
    onA.close();
    const missed = [await a.publish('move', 'two'), await b.publish('move', 'three')];
    const onB = await open(b, 'topic=move', { 'last-event-id': first });
    const live = await a.publish('move', 'four');
    await onB.waitForEvents(3);
    expect(onB.events.map((e) => e.id)).toEqual([...missed, live]);
  });

  it('Redis going away: publishes fail clearly, streams stay up with heartbeats, and everything resumes when it returns', async () => {
    const onA = await open(a, 'topic=outage');
    const onB = await open(b, 'topic=outage');
    const before = await a.publish('outage', 'before');
    await onB.waitForEvents(1);

    await redis.stop();
    // Every thread that publishes is named, each shard's own connection included.
    const threads = ['main thread', ...Array.from({ length: Number(TEST_SHARDS) }, (_, i) => `shard ${i}`)];
    await waitFor(async () => {
      const h = (await (await fetch(`${a.url}/healthz`)).json()) as { status: string; problem?: string };
      return h.status === 'degraded' && threads.every((t) => h.problem!.includes(t));
    }, 'A degraded, naming every thread');
    await waitFor(async () => (await b.metric('sse_event_log_up')) === 0, 'B sees the log down');
    await waitFor(async () => (await b.metric('sse_event_log_thread_up')) === 0, 'B sees it down from every thread');
    expect((await fetch(`${b.url}/healthz`)).status).toBe(200);
    const refused = await fetch(`${a.url}/publish?topic=outage`, { method: 'POST', body: 'lost?' });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ code: 'UNAVAILABLE' });
    const beats = onA.comments.length;
    await waitFor(() => onA.comments.length >= beats + 2, 'heartbeats while Redis is down');
    expect(onA.closed || onB.closed).toBe(false);

    await redis.start();
    // Right away, on both servers: a publish waits for its thread's connection to come back.
    // Published through B while A's reader reconnects: A must not skip it.
    const after = [await b.publish('outage', 'after 1'), await a.publish('outage', 'after 2')];
    for (const server of [a, b]) {
      await waitFor(async () => (await (await fetch(`${server.url}/healthz`)).json() as { status: string }).status === 'ok', 'healthy again');
      expect(await server.metric('sse_event_log_thread_up')).toBe(threads.length);
    }
    expect(seqOf(after[0])).toBe(seqOf(before) + 1); // nothing was accepted while down; history intact
    await onA.waitForEvents(3);
    await onB.waitForEvents(3);
    expect(onA.events.map((e) => e.id)).toEqual([before, ...after]);
    expect(onB.events.map((e) => e.id)).toEqual([before, ...after]);
    // History survived the restart: a resume from the first id replays the rest.
    const resumed = await open(a, 'topic=outage', { 'last-event-id': before });
    await resumed.waitForEvents(2);
    expect(resumed.events.map((e) => e.id)).toEqual(after);
  });

  it('a Redis that comes back empty leads to reset frames, not to reused ids', async () => {
    const onA = await open(a, 'topic=wipe');
    const old = await a.publish('wipe', 'old epoch');
    await onA.waitForEvents(1);
    await redis.stop();
    await redis.start({ empty: true });
    await waitFor(async () => (await (await fetch(`${a.url}/healthz`)).json() as { status: string }).status === 'ok', 'A healthy again', 15_000);
    await waitFor(async () => (await (await fetch(`${b.url}/healthz`)).json() as { status: string }).status === 'ok', 'B healthy again', 15_000);
    const fresh = await b.publish('wipe', 'new epoch');
    expect(fresh.split('-')[0]).not.toBe(old.split('-')[0]);
    await waitFor(() => onA.events.some((e) => e.id === fresh), 'the new-epoch event on A', 15_000);
    const events = onA.events.slice(1);
    expect(events[0]).toMatchObject({ event: 'reset', data: '{"reason":"epoch"}' });
    expect(events.at(-1)).toMatchObject({ id: fresh, data: 'new epoch' });
    // An id from before the wipe is recognised as such (once B has read the new epoch's first event).
    await waitFor(async () => ((await (await fetch(`${b.url}/healthz`)).json()) as { epoch: string }).epoch === fresh.split('-')[0], 'B on the new epoch');
    const late = await open(b, 'topic=wipe', { 'last-event-id': old });
    await late.waitForEvents(1);
    expect(late.events[0]).toMatchObject({ event: 'reset', data: '{"reason":"epoch"}' });
  });

  it('a Redis restored from an older snapshot starts a new epoch: no id is given out twice, subscribers get a reset', async () => {
    const onA = await open(a, 'topic=restore');
    const early = await a.publish('restore', 'kept by the snapshot');
    const snapshot = redis.snapshot();
    const later = [await a.publish('restore', 'lost 1'), await b.publish('restore', 'lost 2')];
    await onA.waitForEvents(3);
    await redis.stop();
    await redis.start({ from: snapshot }); // the counter is back below what both servers have seen
    await waitFor(async () => (await (await fetch(`${a.url}/healthz`)).json() as { status: string }).status === 'ok', 'A healthy again', 15_000);
    await waitFor(async () => (await (await fetch(`${b.url}/healthz`)).json() as { status: string }).status === 'ok', 'B healthy again', 15_000);
    const fresh = await b.publish('restore', 'after the restore');
    expect([early, ...later]).not.toContain(fresh);
    expect(fresh.split('-')[0]).not.toBe(early.split('-')[0]);
    await waitFor(() => onA.events.some((e) => e.id === fresh), 'the event published after the restore, on A', 15_000);
    const after = onA.events.slice(3);
    expect(after[0]).toMatchObject({ event: 'reset', data: '{"reason":"epoch"}' });
    expect(after.at(-1)).toMatchObject({ id: fresh, data: 'after the restore' });
  });
});
