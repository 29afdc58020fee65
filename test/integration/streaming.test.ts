// Topics, multi-topic streams, JSON batches and resume after the server closes the stream, with the
// `eventsource` npm package as an independent client.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

interface Seen {
  id: string;
  data: string;
  type: string;
}

function subscribe(url: string, names: string[] = []): { es: EventSource; seen: Seen[]; opens: number[] } {
  const es = new EventSource(url);
  const seen: Seen[] = [];
  const opens: number[] = [];
  const record = (e: MessageEvent): void => void seen.push({ id: e.lastEventId, data: e.data as string, type: e.type });
  es.addEventListener('message', record);
  for (const n of names) es.addEventListener(n, record);
  es.addEventListener('open', () => opens.push(Date.now()));
  return { es, seen, opens };
}

const seqOf = (id: string): number => Number(id.split('-')[1]);

describe('streaming', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ DEBUG_FAULTS: '1', RETRY_MS: '50' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('opens with :ok and retry, then delivers events of the subscribed topic only', async () => {
    const s = await openStream(`${server.url}/events?topic=solo`);
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(s.headers['cache-control']).toBe('no-cache');
    expect(s.headers['x-accel-buffering']).toBe('no');
    await waitFor(() => s.retry === 50, 'retry field');
    expect(s.comments[0]).toMatch(/^ok shard=\d+$/);
    await server.publish('other', 'not for me');
    const id = await server.publish('solo', 'line one\nline two\r\nline three', { event: 'note' });
    const [ev] = await s.waitForEvents(1);
    expect(ev).toMatchObject({ id, event: 'note', data: 'line one\nline two\nline three' });
    s.close();
  });

  it('a stream on several topics gets all of them in id order', async () => {
    const a = subscribe(`${server.url}/events?topic=m.a&topic=m.b`);
    const b = subscribe(`${server.url}/events?topics=m.b,m.c`);
    await waitFor(() => a.opens.length > 0 && b.opens.length > 0, 'both open');
    const ids: string[] = [];
    for (const t of ['m.a', 'm.b', 'm.c', 'm.a', 'm.b']) ids.push(await server.publish(t, `on ${t}`));
    await waitFor(() => a.seen.length === 4 && b.seen.length === 3, 'deliveries');
    expect(a.seen.map((e) => e.id)).toEqual([ids[0], ids[1], ids[3], ids[4]]);
    expect(b.seen.map((e) => e.id)).toEqual([ids[1], ids[2], ids[4]]);
    a.es.close();
    b.es.close();
  });

  it('a JSON batch gets consecutive ids, in order', async () => {
    const sub = subscribe(`${server.url}/events?topic=j`, ['custom']);
    await waitFor(() => sub.opens.length > 0, 'open');
    const res = await server.publishJson([
      { topic: 'j', data: 'one' },
      { topic: 'j', data: 'two', event: 'custom' },
      { topic: 'j', data: 'three' },
    ]);
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };
    expect(ids.map(seqOf)).toEqual([seqOf(ids[0]!), seqOf(ids[0]!) + 1, seqOf(ids[0]!) + 2]);
    await waitFor(() => sub.seen.length === 3, 'three events');
    expect(sub.seen).toEqual([
      { id: ids[0], data: 'one', type: 'message' },
      { id: ids[1], data: 'two', type: 'custom' },
      { id: ids[2], data: 'three', type: 'message' },
    ]);
    const single = await server.publishJson({ topic: 'j', data: 'four' });
    expect(await single.json()).toEqual({ id: expect.stringMatching(/^[0-9a-z]+-\d+$/) });
    sub.es.close();
  });

  it('resumes with Last-Event-ID after the server closes streams, no gap and no duplicate, while publishing goes on', async () => {
    const subs = [subscribe(`${server.url}/events?topic=live`), subscribe(`${server.url}/events?topic=live`)];
    await waitFor(() => subs.every((s) => s.opens.length === 1), 'open');
    const published: string[] = [];
    let closes = 0;
    // Publish 400 events; close every stream twice while doing so.
    for (let i = 0; i < 400; i++) {
      published.push(await server.publish('live', `n=${i}`));
      if (i === 120 || i === 260) {
        await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' });
        closes++;
      }
    }
    await waitFor(() => subs.every((s) => s.seen.length >= published.length), 'every event', 20_000);
    for (const s of subs) {
      expect(s.seen.map((e) => e.id)).toEqual(published);
      expect(s.opens.length).toBeGreaterThanOrEqual(closes + 1);
      s.es.close();
    }
  });

  it('?lastEventId= resumes too, and the Last-Event-ID header wins over it', async () => {
    const first = await server.publish('q', 'a');
    const second = await server.publish('q', 'b');
    const third = await server.publish('q', 'c');
    const byQuery = await openStream(`${server.url}/events?topic=q&lastEventId=${first}`);
    expect((await byQuery.waitForEvents(2)).map((e) => e.id)).toEqual([second, third]);
    const byHeader = await openStream(`${server.url}/events?topic=q&lastEventId=${first}`, { 'last-event-id': second });
    expect((await byHeader.waitForEvents(1)).map((e) => e.id)).toEqual([third]);
    const fourth = await server.publish('q', 'd');
    await byHeader.waitForEvents(2);
    expect(byHeader.events.map((e) => e.id)).toEqual([third, fourth]);
    byQuery.close();
    byHeader.close();
  });

  it('an id older than the history gets a reset frame, then live events', async () => {
    // memory only: with the durable log, an id still in a retained segment resumes (quiet-topic-resume.test.ts)
    const small = await startServer({ HISTORY_SIZE: '5', DATA_DIR: '' });
    try {
      const old = await small.publish('h', 'old');
      let last = old;
      for (let i = 0; i < 10; i++) last = await small.publish('h', `filler ${i}`);
      // Published is not yet in the history (batches leave every BATCH_MS): wait until `old` has left the ring.
      await waitFor(async () => ((await (await fetch(`${small.url}/healthz`)).json()) as { lastSeq: number }).lastSeq >= seqOf(last), 'the fillers in the history');
      const s = await openStream(`${small.url}/events?topic=h`, { 'last-event-id': old });
      const live = await small.publish('h', 'live');
      // A shard may open the stream before the last fillers reached it: those then arrive live.
      await waitFor(() => s.events.some((e) => e.id === live), 'the live event');
      // The reset carries the stream's position (where a reconnect resumes): on this epoch, past `old`.
      const reset = s.events[0]!;
      expect(reset).toMatchObject({ event: 'reset', data: '{"reason":"history"}' });
      expect(reset.id?.split('-')[0]).toBe(old.split('-')[0]);
      expect(seqOf(reset.id!)).toBeGreaterThan(seqOf(old));
      // After it, every event on the topic after that position, once, in order (all of them are on 'h').
      const after = s.events.slice(1).map((e) => seqOf(e.id!));
      expect(after).toEqual(Array.from({ length: seqOf(live) - seqOf(reset.id!) }, (_, i) => seqOf(reset.id!) + 1 + i));
      expect(s.events.at(-1)).toMatchObject({ id: live, data: 'live' });
      s.close();
    } finally {
      await small.stop();
    }
  });

  it('an id ahead of the server gets a reset frame at its real position, and every event after it is delivered', async () => {
    const last = await server.publish('ahead', 'before');
    const [epoch] = last.split('-');
    const ahead = `${epoch}-${seqOf(last) + 1000}`;
    const s = await openStream(`${server.url}/events?topic=ahead`, { 'last-event-id': ahead });
    const ids = [await server.publish('ahead', 'one'), await server.publish('ahead', 'two')];
    await waitFor(() => s.events.some((e) => e.id === ids[1]) && s.events, 'the events after the reset');
    const [reset, ...events] = s.events;
    expect(reset).toMatchObject({ event: 'reset', data: '{"reason":"history"}' });
    // not a position 1000 ahead, which would have skipped every event up to it
    expect(seqOf(reset!.id!)).toBeLessThan(seqOf(ids[0]!));
    // 'before' was answered before it reached the shard's history, so the reset may come before it:
    // then it is delivered too. Every event after the reset's position, once, in order.
    const published: Array<[string, string]> = [
      [last, 'before'],
      [ids[0]!, 'one'],
      [ids[1]!, 'two'],
    ];
    expect(events.map((e) => [e.id, e.data])).toEqual(published.filter(([id]) => seqOf(id) > seqOf(reset!.id!)));
    s.close();
  });
});
