// The shipped deploy/nginx.conf, run by the real nginx in front of the real server, over real
// sockets: streams unbuffered, resumes, passes heartbeats, turns HTTP/1.0 health checks into
// answers, and frames publish bodies strictly; over HTTP/2 (TLS) the same. Only the file's paths,
// ports and certificate are rewritten.
import http2 from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startNginx, type TestNginx } from '../support/nginx.js';
import { rawRequest } from '../helpers/raw-http.js';
import { openH2Stream, openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

/** the server's default MAX_PUBLISH_BYTES, which the file's client_max_body_size matches */
const LIMIT = 65_536;

let server: TestServer;
let nginx: TestNginx;

beforeAll(async () => {
  server = await startServer({ HEARTBEAT_MS: '200' });
  nginx = await startNginx(server.port);
});

afterAll(async () => {
  await nginx?.stop();
  await server?.stop();
});

async function publishViaProxy(topic: string, data: string): Promise<string> {
  const res = await fetch(`${nginx.url}/publish?topic=${topic}`, { method: 'POST', body: data });
  const text = await res.text();
  expect(res.status, text).toBe(202);
  return (JSON.parse(text) as { id: string }).id;
}

function subscribe(topic: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return openStream(`${nginx.url}/events?topic=${topic}`, headers);
}

/** after the `:ok` comment the stream is registered on the server: events published now reach it */
async function ready(stream: RawStream): Promise<void> {
  await waitFor(() => stream.comments.some((c) => c.startsWith('ok')), 'the :ok comment through nginx');
}

/** the events a stream has read, as {id, data} */
const seen = (s: RawStream): { id: string | undefined; data: string }[] => s.events.map((e) => ({ id: e.id, data: e.data }));

/** A publish that must go through, read by `watcher`: proves nothing else was published meanwhile. */
async function expectOnlyControl(watcher: RawStream, topic: string): Promise<void> {
  const id = await publishViaProxy(topic, 'control');
  await watcher.waitForEvents(1);
  expect(seen(watcher)).toEqual([{ id, data: 'control' }]);
}

describe('deploy/nginx.conf in front of the server', () => {
  it('streams unbuffered: each event is read from the still-open stream before the next is published', async () => {
    // Accept-Encoding: gzip too, so that a gzip left on for the stream would show (and hold events back)
    const sub = await subscribe('proxy-live', { 'accept-encoding': 'gzip' });
    expect(sub.status).toBe(200);
    expect(sub.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(sub.headers['content-encoding']).toBeUndefined();
    expect(sub.headers['content-length']).toBeUndefined();
    expect(sub.headers['uwebsockets']).toBeUndefined(); // proxy_hide_header
    await ready(sub);
    const expected: { id: string; data: string }[] = [];
    for (let i = 1; i <= 3; i++) {
      const data = `event ${i}\nsecond line`;
      expected.push({ id: await publishViaProxy('proxy-live', data), data });
      // a buffering proxy would sit on these few bytes: they arrive only because nothing holds them
      await sub.waitForEvents(i);
      expect(sub.closed).toBe(false);
      expect(seen(sub)).toEqual(expected);
    }
    sub.close();
  });

  it('resumes with Last-Event-ID through the proxy: exactly the missed events, in order, then live', async () => {
    const topic = 'proxy-resume';
    const first = await subscribe(topic);
    await ready(first);
    const before = [await publishViaProxy(topic, 'one'), await publishViaProxy(topic, 'two')];
    await first.waitForEvents(2);
    expect(first.events.map((e) => e.id)).toEqual(before);
    first.close();
    await first.ended;

    const missed = [];
    for (const data of ['three', 'four', 'five']) missed.push({ id: await publishViaProxy(topic, data), data });
    // the header only (no ?lastEventId): replay happens only if nginx passes it on
    const again = await subscribe(topic, { 'last-event-id': before[1]! });
    expect(again.status).toBe(200);
    await again.waitForEvents(3);
    expect(seen(again)).toEqual(missed);
    const live = { id: await publishViaProxy(topic, 'six'), data: 'six' };
    await again.waitForEvents(4);
    expect(seen(again)).toEqual([...missed, live]);
    expect(again.events.some((e) => e.event === 'reset')).toBe(false);
    again.close();
  });

  it('passes heartbeats through (HEARTBEAT_MS=200): `:` comments arrive on an idle stream', async () => {
    const sub = await subscribe('proxy-idle');
    await ready(sub);
    // eventsource-parser reports the bare `:` heartbeat line as the empty comment
    await waitFor(() => sub.comments.filter((c) => c === '').length >= 2, 'two heartbeats through nginx');
    expect(sub.closed).toBe(false);
    expect(sub.events).toEqual([]);
    sub.close();
  });

  it('answers an HTTP/1.0 health check with 200 and the JSON body (the server alone answers 505)', async () => {
    const request = 'GET /healthz HTTP/1.0\r\n\r\n';
    const direct = await rawRequest(server.port, request);
    expect(direct.statusLine).toBe('HTTP/1.1 505 HTTP Version Not Supported');

    const proxied = await rawRequest(nginx.port, request);
    expect(proxied.status, proxied.raw).toBe(200);
    expect(proxied.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(proxied.body)).toMatchObject({ status: 'ok' });
  });

  it('refuses a publish body over 64 KiB with 413 and the JSON error shape, and publishes one of exactly 64 KiB', async () => {
    const topic = 'proxy-limit';
    const watcher = await subscribe(topic);
    await ready(watcher);

    const tooLarge = await fetch(`${nginx.url}/publish?topic=${topic}`, { method: 'POST', body: 'x'.repeat(LIMIT + 1) });
    const text = await tooLarge.text();
    expect(tooLarge.status, text).toBe(413);
    expect(tooLarge.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(text)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    // refused by nginx itself (client_max_body_size), so the body never reaches the server
    expect(nginx.output()).toContain('client intended to send too large body: 65537 bytes');

    // no Content-Length to check up front: nginx counts the chunks as they come
    const chunk = 'y'.repeat(40_000);
    const chunked = await rawRequest(
      nginx.port,
      `POST /publish?topic=${topic} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${chunk.length.toString(16)}\r\n${chunk}\r\n${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`,
    );
    expect(chunked.status, chunked.raw.slice(0, 300)).toBe(413);
    expect(JSON.parse(chunked.body)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(nginx.output()).toContain('client intended to send too large chunked body');

    // the two limits agree: exactly the limit passes nginx and the server
    const atLimit = 'z'.repeat(LIMIT);
    const id = await publishViaProxy(topic, atLimit);
    await watcher.waitForEvents(1);
    expect(seen(watcher)).toEqual([{ id, data: atLimit }]);
    watcher.close();
  });

  it('refuses a publish with two different Content-Length headers with 400, and publishes nothing', async () => {
    // nginx refuses the request itself. The server alone (uWS 20) takes the first length and parses
    // the rest as a next request, a request-smuggling shape (not asserted: the server's to fix).
    const topic = 'proxy-dup-length';
    const watcher = await subscribe(topic);
    await ready(watcher);
    const published = await server.metric('sse_events_published_total');

    const res = await rawRequest(
      nginx.port,
      `POST /publish?topic=${topic} HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello!`,
    );
    expect(res.statusLine).toBe('HTTP/1.1 400 Bad Request');
    expect(await server.metric('sse_events_published_total')).toBe(published);
    await expectOnlyControl(watcher, topic);
    expect(await server.metric('sse_events_published_total')).toBe(published + 1);
    watcher.close();
  });

  it('de-chunks a chunked publish and forwards it with its exact data', async () => {
    // proxy_request_buffering on: nginx reads the whole chunked body, then sends the server one
    // request with a Content-Length, so the server never parses chunked framing from a client.
    const topic = 'proxy-chunked';
    const watcher = await subscribe(topic);
    await ready(watcher);
    const parts = ['hello ', 'chunked\nwörld', ''];
    const body = parts.map((p) => `${Buffer.byteLength(p).toString(16)}\r\n${p}\r\n`).join('');
    const res = await rawRequest(
      nginx.port,
      Buffer.from(`POST /publish?topic=${topic} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body}`, 'utf8'),
    );
    expect(res.status, res.raw).toBe(202);
    const { id } = JSON.parse(res.body) as { id: string };
    await watcher.waitForEvents(1);
    expect(seen(watcher)).toEqual([{ id, data: 'hello chunked\nwörld' }]);
    watcher.close();
  });
});

describe('deploy/nginx.conf over HTTP/2 (TLS, the throwaway certificate)', () => {
  let session: http2.ClientHttp2Session;
  beforeAll(async () => {
    session = http2.connect(nginx.httpsUrl, { ca: nginx.certificate });
    await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject));
  });
  afterAll(() => {
    session?.close();
  });

  function request(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = session.request({ ':method': method, ':path': path });
      let status = 0;
      let text = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.setEncoding('utf8');
      req.on('data', (d: string) => (text += d));
      req.on('end', () => resolve({ status, body: text }));
      req.on('error', reject);
      req.end(body);
    });
  }

  async function publish(topic: string, data: string): Promise<string> {
    const res = await request('POST', `/publish?topic=${topic}`, data);
    expect(res.status, res.body).toBe(202);
    return (JSON.parse(res.body) as { id: string }).id;
  }

  it('speaks HTTP/2 (ALPN h2) and answers health checks through it', async () => {
    expect(session.alpnProtocol).toBe('h2');
    const res = await request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok' });
  });

  it('streams unbuffered, publishes through it, and resumes with Last-Event-ID: missed events once, in order, then live', async () => {
    const topic = 'h2-resume';
    const first = await openH2Stream(session, `/events?topic=${topic}`);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await ready(first);
    const before: string[] = [];
    for (const data of ['one', 'two']) {
      before.push(await publish(topic, data));
      // unbuffered: read from the open stream before the next publish
      await first.waitForEvents(before.length);
    }
    expect(first.events.map((e) => e.id)).toEqual(before);
    first.close();
    await first.ended;

    const missed = [];
    for (const data of ['three', 'four']) missed.push({ id: await publish(topic, data), data });
    const again = await openH2Stream(session, `/events?topic=${topic}`, { 'last-event-id': before[1]! });
    await again.waitForEvents(2);
    const live = { id: await publish(topic, 'live'), data: 'live' };
    await again.waitForEvents(3);
    expect(seen(again)).toEqual([...missed, live]);
    again.close();
  });

  it('carries twelve streams on one connection (over HTTP/1.1 a browser would give one origin six)', async () => {
    const streams = await Promise.all(Array.from({ length: 12 }, () => openH2Stream(session, '/events?topic=h2-many')));
    await Promise.all(streams.map(ready));
    const id = await publish('h2-many', 'to all');
    for (const s of streams) {
      await s.waitForEvents(1);
      expect(seen(s)).toEqual([{ id, data: 'to all' }]);
    }
    await waitFor(async () => (await server.metric('sse_connections')) >= 12, 'twelve streams on the server');
    for (const s of streams) s.close();
  });
});

describe('deploy/nginx.conf and slow consumers', () => {
  let slowServer: TestServer;
  let proxy: TestNginx;
  beforeAll(async () => {
    slowServer = await startServer({ MAX_BACKPRESSURE: '1048576', MAX_PUBLISH_BYTES: String(1 << 20) });
    proxy = await startNginx(slowServer.port);
  });
  afterAll(async () => {
    await proxy?.stop();
    await slowServer?.stop();
  });

  it('lets backpressure through: a client that stops reading behind nginx is still disconnected by the server', async () => {
    // proxy_buffering off: nginx reads from the server only as fast as the client takes the bytes. A
    // buffering nginx would spool up to 1 GB per stream to disk and the server would never notice.
    const stuck = await openStream(`${proxy.url}/events?topic=flood`);
    await ready(stuck);
    stuck.pause();
    const event = 'x'.repeat(16 * 1024);
    let bytes = 0;
    while ((await slowServer.metric('sse_slow_consumer_disconnects_total')) === 0) {
      // kernel buffers on both sides of nginx absorb some megabytes first; 96 MB is far beyond them
      expect(bytes, 'the server never saw backpressure through nginx').toBeLessThan(96 << 20);
      const res = await slowServer.publishJson(Array.from({ length: 8 }, () => ({ topic: 'flood', data: event })));
      expect(res.status).toBe(202);
      bytes += 8 * event.length;
    }
    await waitFor(async () => (await slowServer.metric('sse_connections')) === 0, 'the stuck stream to be closed');
    stuck.close();
  });
});

describe('deploy/nginx.conf with the server down', () => {
  let down: TestNginx;
  beforeAll(async () => {
    down = await startNginx(await freePort()); // nothing listens there
  });
  afterAll(async () => {
    await down?.stop();
  });

  it('answers /events with a 200 stream that only says retry: (a browser EventSource gives up for good on a 502)', async () => {
    const res = await fetch(`${down.url}/events?topic=t`, { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    expect(await res.text()).toBe('retry: 3000\n\n');
  });

  it('still answers /healthz with 502, so a balancer takes this proxy out', async () => {
    const res = await fetch(`${down.url}/healthz`);
    expect(res.status).toBe(502);
  });
});
