// COMPRESSION=gzip against real clients, with TEST_SHARDS=0, 1 and 4 like the rest of the suite.
// Each client must read the same events as an identity client of the same stream:
// - a raw node:http client: live events decoded as they arrive (createGunzip), and the whole body
//   of a stream the server ended (POST /_debug/close-streams) decoded by strict gunzipSync: a
//   complete gzip member whose CRC-32 and length check;
// - the `eventsource` package (its fetch asks for gzip, and decodes);
// - `curl --compressed -N`, which exits 0 only on a valid gzip body;
// - headless Chromium's own EventSource (Chromium sends Accept-Encoding: gzip by itself).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { createGunzip, gunzipSync } from 'node:zlib';
import { EventSource } from 'eventsource';
import { SignJWT } from 'jose';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { launchBrowser } from '../helpers/browsers.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** A realistic ticker payload: repeating field names, changing numbers. */
const tick = (i: number): string =>
  JSON.stringify({ type: 'quote', symbol: ['AAPL', 'MSFT', 'GOOG'][i % 3], bid: (187.12 + i / 100).toFixed(2), ask: (187.15 + i / 100).toFixed(2), volume: 1000 + ((i * 7919) % 5000), ts: 1764670000000 + i * 20 });

type Ev = Pick<EventSourceMessage, 'id' | 'event' | 'data'>;
const pickEv = (e: EventSourceMessage | { lastEventId: string; type: string; data: string }): Ev =>
  'lastEventId' in e ? { id: e.lastEventId, event: e.type === 'message' ? undefined : e.type, data: e.data } : { id: e.id, event: e.event, data: e.data };

function parse(text: string): Ev[] {
  const events: Ev[] = [];
  const p = createParser({ onEvent: (e) => events.push(pickEv(e)) });
  p.feed(text);
  return events;
}

interface GzipClient {
  headers: http.IncomingHttpHeaders;
  /** events decoded live (createGunzip, sync-flushed pieces) */
  events: Ev[];
  /** every body byte as received */
  raw: Buffer[];
  /** the response closed and the live decode is complete */
  ended: Promise<void>;
  close(): void;
  pause(): void;
  resume(): void;
}

function openGzip(url: string, acceptEncoding = 'gzip, deflate, br', headers: Record<string, string> = {}): Promise<GzipClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', 'accept-encoding': acceptEncoding, ...headers }, agent: false }, (res) => {
      const gunzip = createGunzip();
      // ended once the live decoder has also decoded the last bytes: it runs on the threadpool, after 'close'
      const ended = new Promise<void>((r) =>
        res.on('close', () => {
          gunzip.once('close', () => r());
          gunzip.end();
        }),
      );
      const client: GzipClient = { headers: res.headers, events: [], raw: [], ended, close: () => req.destroy(), pause: () => res.pause(), resume: () => res.resume() };
      const parser = createParser({ onEvent: (e) => client.events.push(pickEv(e)) });
      gunzip.setEncoding('utf8');
      gunzip.on('data', (s: string) => parser.feed(s));
      gunzip.on('error', () => {}); // checked strictly on the whole body instead
      res.on('data', (b: Buffer) => {
        client.raw.push(b);
        gunzip.write(b);
      });
      resolve(client);
    });
    req.on('error', reject);
  });
}

async function publishTicks(s: TestServer, topic: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await s.publish(topic, tick(i), i % 5 === 4 ? { event: 'quote' } : {}));
  ids.push(await s.publish(topic, 'two\nlines'));
  return ids;
}

describe('COMPRESSION=gzip', () => {
  it('node:http: Content-Encoding gzip and Vary; live events decode as they come; the ended stream is a strict, complete gzip member with the identity events', async () => {
    server = await startServer({ COMPRESSION: 'gzip', DEBUG_FAULTS: '1' });
    const gz = await openGzip(`${server.url}/events?topic=ticker`);
    const id = await openStream(`${server.url}/events?topic=ticker`, { 'accept-encoding': 'identity' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers['vary']).toMatch(/accept-encoding/i);
    expect(id.headers['content-encoding']).toBeUndefined();
    expect(id.headers['vary']).toMatch(/accept-encoding/i);

    const ids = await publishTicks(server, 'ticker', 40);
    await id.waitForEvents(ids.length);
    // each event leaves at once (sync flush per pass): decoded before the stream ends
    await waitFor(() => gz.events.length >= ids.length, 'the gzip client to decode every event live');
    expect(gz.events).toEqual(id.events.map(pickEv));

    await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' });
    await gz.ended;
    const body = gunzipSync(Buffer.concat(gz.raw)); // strict: a truncated member or a bad CRC throws
    expect(parse(body.toString('utf8'))).toEqual(id.events.map(pickEv));
    expect(body.toString('utf8')).toMatch(/^:ok shard=\d+\n\nretry: 3000\n\n/);
    const wire = await server.metric('sse_sent_bytes_total');
    const plain = await server.metric('sse_sent_uncompressed_bytes_total');
    expect(wire).toBeLessThan(plain); // the identity stream counts the same on both; the gzip one less on the wire
    id.close();
  });

  it('a resume with Last-Event-ID replays into the gzip stream, heartbeats are compressed too, and gzip;q=0 gets identity', async () => {
    server = await startServer({ COMPRESSION: 'gzip', DEBUG_FAULTS: '1', HEARTBEAT_MS: '100' });
    const ids = await publishTicks(server, 'r', 10);
    const gz = await openGzip(`${server.url}/events?topic=r&lastEventId=${ids[3]}`);
    const refused = await openStream(`${server.url}/events?topic=r&lastEventId=${ids[3]}`, { 'accept-encoding': 'gzip;q=0, identity' });
    expect(refused.headers['content-encoding']).toBeUndefined();
    await refused.waitForEvents(ids.length - 4);
    await waitFor(() => gz.events.length >= ids.length - 4, 'the replay');
    await new Promise((r) => setTimeout(r, 350)); // a few heartbeats
    const more = await publishTicks(server, 'r', 3);
    await refused.waitForEvents(ids.length - 4 + more.length);
    await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' });
    await gz.ended;
    const text = gunzipSync(Buffer.concat(gz.raw)).toString('utf8');
    expect(parse(text)).toEqual(refused.events.map(pickEv));
    expect(text).toContain('\n:\n\n'); // a heartbeat comment, inside the compressed stream
    refused.close();
  });

  it('SLOW_CONSUMER=drop on a gzip stream: events skipped while it is backpressured, then the reset frame, and the stream stays strictly valid gzip', async () => {
    server = await startServer({ COMPRESSION: 'gzip', DEBUG_FAULTS: '1', SLOW_CONSUMER: 'drop', MAX_BACKPRESSURE: '262144', MAX_PUBLISH_BYTES: String(1 << 20) });
    const gz = await openGzip(`${server.url}/events?topic=slow`);
    gz.pause();
    // incompressible payloads, so that the kernel's buffers fill as fast as with identity
    const burst = async (): Promise<string[]> => {
      const items = Array.from({ length: 8 }, () => ({ topic: 'slow', data: randomBytes(12 * 1024).toString('base64') }));
      const res = await server!.publishJson(items);
      expect(res.status).toBe(202);
      return ((await res.json()) as { ids: string[] }).ids;
    };
    let bursts = 0;
    for (; (await server.metric('sse_slow_consumer_dropped_events_total')) === 0; bursts++) {
      expect(bursts, 'drop never happened').toBeLessThan(500);
      await burst();
    }
    gz.resume();
    await waitFor(() => gz.events.some((e) => e.event === 'reset'), 'the reset frame', 20_000);
    const [after] = await burst();
    await waitFor(() => gz.events.some((e) => e.id === after), 'a live event after the reset');
    await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' });
    await gz.ended;
    const events = parse(gunzipSync(Buffer.concat(gz.raw)).toString('utf8'));
    expect(events).toEqual(gz.events); // the live decode and the strict one agree
    expect(events.find((e) => e.event === 'reset')!.data).toBe('{"reason":"dropped"}');
    const seqs = events.filter((e) => e.event !== 'reset').map((e) => Number(e.id!.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    // The bound counts wire bytes: never past it by more than the one write that revealed backpressure.
    // A shard that lags (SHARDS=4 on two cores) merges bursts into one pass, so that write may hold
    // several bursts: at most all of them.
    expect(await server.metric('sse_backpressure_peak_bytes')).toBeLessThanOrEqual(262_144 + bursts * 8 * 17 * 1024);
  });

  it('a stream closed at its token exp ends as a complete gzip member (strict gunzip)', async () => {
    const secret = 's'.repeat(32);
    // a key source makes publishing need auth too: the publisher uses PUBLISH_TOKEN
    const publishToken = 'publisher-token-0123456789';
    server = await startServer({ COMPRESSION: 'gzip', JWT_SECRET: secret, PUBLISH_TOKEN: publishToken });
    const exp = Math.floor(Date.now() / 1000) + 3; // whole seconds, at least 2 s ahead: the stream surely opens before it
    const token = await new SignJWT({ topics: ['jwt.*'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(exp).sign(new TextEncoder().encode(secret));
    const gz = await openGzip(`${server.url}/events?topic=jwt.a`, 'gzip', { authorization: `Bearer ${token}` });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await server.publish('jwt.a', tick(i), { headers: { authorization: `Bearer ${publishToken}` } }));
    await gz.ended;
    const events = parse(gunzipSync(Buffer.concat(gz.raw)).toString('utf8'));
    expect(events.map((e) => e.id)).toEqual(ids);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 50);
  });

  it('the eventsource package (fetch with Accept-Encoding gzip) reads the same events as an identity client', async () => {
    server = await startServer({ COMPRESSION: 'gzip' });
    const encodings: string[] = [];
    const es = new EventSource(`${server.url}/events?topic=es`, {
      fetch: async (url, init) => {
        const res = await fetch(url, { ...init, headers: { ...init?.headers, 'accept-encoding': 'gzip' } });
        encodings.push(res.headers.get('content-encoding') ?? 'identity');
        return res;
      },
    });
    const seen: Ev[] = [];
    es.onmessage = (e) => seen.push(pickEv(e));
    es.addEventListener('quote', (e) => seen.push(pickEv(e)));
    await waitFor(() => es.readyState === EventSource.OPEN, 'the EventSource to open');
    const id = await openStream(`${server.url}/events?topic=es`);
    const ids = await publishTicks(server, 'es', 20);
    await id.waitForEvents(ids.length);
    await waitFor(() => seen.length >= ids.length, 'the eventsource client to read every event');
    expect(encodings).toEqual(['gzip']);
    expect(seen).toEqual(id.events.map(pickEv));
    es.close();
    id.close();
  });

  it('curl --compressed -N decodes the stream and exits 0 when the server ends it', async () => {
    server = await startServer({ COMPRESSION: 'gzip', DEBUG_FAULTS: '1' });
    const curl = spawn('curl', ['--silent', '--show-error', '--compressed', '-N', '-D', '-', `${server.url}/events?topic=c`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    curl.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    curl.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => curl.on('exit', resolve));
    await waitFor(() => out.includes(':ok'), 'curl to read the first (compressed) bytes');
    const id = await openStream(`${server.url}/events?topic=c`);
    const ids = await publishTicks(server, 'c', 20);
    await id.waitForEvents(ids.length);
    await waitFor(() => parse(out).length >= ids.length, 'curl to print every event');
    await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' });
    expect(await exited, err).toBe(0);
    expect(out.toLowerCase()).toContain('content-encoding: gzip');
    expect(parse(out.slice(out.indexOf('\r\n\r\n') + 4))).toEqual(id.events.map(pickEv));
    id.close();
  });

  it("headless Chromium's EventSource gets gzip and reads the same events as an identity client", async () => {
    server = await startServer({ COMPRESSION: 'gzip' });
    const browser = await launchBrowser('chromium');
    try {
      const page = await browser.open(`${server.url}/?topic=demo`);
      // same origin, so the response headers are readable: what Chromium asks for and gets
      const encoding = await page.evaluate(async () => {
        const c = new AbortController();
        const res = await fetch('/events?topic=probe', { signal: c.signal });
        const value = res.headers.get('content-encoding');
        c.abort();
        return value;
      });
      expect(encoding).toBe('gzip');
      await page.evaluate(() => {
        const w = window as unknown as { seen: string[]; opened: boolean };
        w.seen = [];
        w.opened = false;
        // the page's own EventSource (this module's `EventSource` is the npm package, rewritten by vite)
        const es = new (window as unknown as { EventSource: typeof globalThis.EventSource }).EventSource('/events?topic=chrome');
        es.onopen = () => (w.opened = true);
        es.onmessage = (e: MessageEvent<string>) => w.seen.push(JSON.stringify([e.lastEventId, 'message', e.data]));
        es.addEventListener('quote', (e: MessageEvent<string>) => w.seen.push(JSON.stringify([e.lastEventId, 'quote', e.data])));
      });
      await page.waitUntil(() => (window as unknown as { opened: boolean }).opened);
      const id = await openStream(`${server.url}/events?topic=chrome`);
      const ids = await publishTicks(server, 'chrome', 20);
      await id.waitForEvents(ids.length);
      await page.waitUntil((n) => (window as unknown as { seen: string[] }).seen.length >= n, ids.length);
      const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
      expect(seen).toEqual(id.events.map((e) => JSON.stringify([e.id, e.event ?? 'message', e.data])));
      // every stream here but the identity one is Chromium's: the wire carried fewer bytes than the events
      expect(await server.metric('sse_sent_bytes_total')).toBeLessThan(await server.metric('sse_sent_uncompressed_bytes_total'));
      await page.close();
      id.close();
    } finally {
      await browser.close();
    }
  });
});
