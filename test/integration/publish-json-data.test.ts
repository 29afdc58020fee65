// JSON publishes carry any JSON value as `data`: a string as is, anything else as its JSON text, so a
// subscriber's JSON.parse(event.data) gives the value back. Subscribed with the `eventsource` package.
import { EventSource } from 'eventsource';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const MAX_PUBLISH_BYTES = 2048;

interface Seen {
  id: string;
  type: string;
  data: string;
}

function subscribe(url: string): { es: EventSource; seen: Seen[]; opened: Promise<void> } {
  const es = new EventSource(url);
  const seen: Seen[] = [];
  const record = (e: MessageEvent): void => void seen.push({ id: e.lastEventId, type: e.type, data: e.data as string });
  es.addEventListener('message', record);
  es.addEventListener('tick', record);
  const opened = new Promise<void>((resolve) => es.addEventListener('open', () => resolve()));
  return { es, seen, opened };
}

async function errorCode(res: Response): Promise<string> {
  return ((await res.json()) as { code: string }).code;
}

describe('JSON data of any JSON value', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ MAX_PUBLISH_BYTES: String(MAX_PUBLISH_BYTES) });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('an object as data reaches the subscriber as {"price":101}, and JSON.parse gives the object back', async () => {
    const sub = subscribe(`${server.url}/events?topic=news`);
    await sub.opened;
    const res = await server.publishJson({ topic: 'news', data: { price: 101 } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await waitFor(() => sub.seen.length === 1, 'the event');
    expect(sub.seen).toEqual([{ id, type: 'message', data: '{"price":101}' }]);
    expect(JSON.parse(sub.seen[0]!.data)).toEqual({ price: 101 });
    sub.es.close();
  });

  it('a batch mixing string and non-string data is delivered in order, each as sent', async () => {
    const sub = subscribe(`${server.url}/events?topic=mixed`);
    await sub.opened;
    const res = await server.publishJson([
      { topic: 'mixed', data: 'plain text' },
      { topic: 'mixed', data: { price: 101, tags: ['a', 'b'] }, event: 'tick' },
      { topic: 'mixed', data: '{"already":"json text"}' },
      { topic: 'mixed', data: [1, 2, 3] },
      { topic: 'mixed', data: 42 },
      { topic: 'mixed', data: false },
      { topic: 'mixed', data: null },
      { topic: 'mixed', data: { text: 'line 1\nline 2' } },
    ]);
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };
    await waitFor(() => sub.seen.length === 8, 'eight events');
    expect(sub.seen.map((e) => e.id)).toEqual(ids);
    expect(sub.seen.map((e) => [e.type, e.data])).toEqual([
      ['message', 'plain text'],
      ['tick', '{"price":101,"tags":["a","b"]}'],
      ['message', '{"already":"json text"}'],
      ['message', '[1,2,3]'],
      ['message', '42'],
      ['message', 'false'],
      ['message', 'null'],
      ['message', '{"text":"line 1\\nline 2"}'],
    ]);
    expect(JSON.parse(sub.seen[7]!.data)).toEqual({ text: 'line 1\nline 2' });
    sub.es.close();
  });

  it('a batch with one bad item is refused whole, non-string data beside it or not', async () => {
    const sub = subscribe(`${server.url}/events?topic=whole`);
    await sub.opened;
    const before = await server.metric('sse_events_published_total');
    const missing = await server.publishJson([{ topic: 'whole', data: { n: 1 } }, { topic: 'whole' }]);
    expect(missing.status).toBe(400);
    expect(await errorCode(missing)).toBe('BAD_PUBLISH_ITEM');
    const deep = `${'['.repeat(500)}${']'.repeat(500)}`;
    const tooDeep = await fetch(`${server.url}/publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: `[{"topic":"whole","data":"x"},{"topic":"whole","data":${deep}}]`,
    });
    expect(tooDeep.status).toBe(400);
    expect(await errorCode(tooDeep)).toBe('BAD_PUBLISH_ITEM');
    expect(await server.metric('sse_events_published_total')).toBe(before);
    // had any item gone through, the subscriber would see it before this one
    const { id } = (await (await server.publishJson({ topic: 'whole', data: 'after' })).json()) as { id: string };
    await waitFor(() => sub.seen.length > 0, 'the control event');
    expect(sub.seen).toEqual([{ id, type: 'message', data: 'after' }]);
    sub.es.close();
  });

  it('data that JSON.stringify writes longer than MAX_PUBLISH_BYTES gets 413 even when the body fits', async () => {
    // 1e20 is 4 bytes in the body and 21 digits as JSON text
    const body = `{"topic":"news","data":[${Array.from({ length: 300 }, () => '1e20').join(',')}]}`;
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_PUBLISH_BYTES);
    const res = await fetch(`${server.url}/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe('BODY_TOO_LARGE');
  });
});
