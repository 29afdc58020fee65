// Framing that two HTTP parsers could read differently (RFC 9112 is the rule book), sent over raw
// TCP where a client library would normalise it away. Each test is named after what it proves; a
// watcher subscribed through the whole file must end with exactly the events published on purpose.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange, statuses } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

const TOPIC = 'framing';
const MAX_PUBLISH_BYTES = 1024;
let server: TestServer;
let watcher: RawStream;
const expected: string[] = [];

const publishHead = (headers: string): string => `POST /publish?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\n${headers}\r\n`;

async function published(): Promise<number> {
  return server.metric('sse_events_published_total');
}

/** Publishes one event on purpose and checks the watcher has exactly those, in order. */
async function control(data: string): Promise<void> {
  await server.publish(TOPIC, data);
  expected.push(data);
  await watcher.waitForEvents(expected.length);
  expect(watcher.events.map((e) => e.data)).toEqual(expected);
}

beforeAll(async () => {
  server = await startServer({ MAX_PUBLISH_BYTES: String(MAX_PUBLISH_BYTES) });
  watcher = await openStream(`${server.url}/events?topic=${TOPIC}`);
  await control('first');
});

afterAll(async () => {
  watcher?.close();
  await server?.stop();
});

describe('request smuggling: the end of a body must never be in doubt', () => {
  it('two different Content-Length headers get 400 BAD_FRAMING and a close, and publish nothing', async () => {
    const before = await published();
    const answer = await rawExchange(server.port, `${publishHead('Content-Length: 5\r\nContent-Length: 7\r\n')}hello`);
    expect(statuses(answer.reply)).toEqual([400]);
    expect(answer.reply).toContain('"code":"BAD_FRAMING"');
    expect(answer.outcome).not.toBe('timeout');
    expect(await published()).toBe(before);
    await control('after two lengths');
  });

  it('a request smuggled behind two Content-Length headers is never executed: the connection closes first', async () => {
    const before = await published();
    const smuggled = `POST /publish?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\nsmuggled`;
    const answer = await rawExchange(server.port, `${publishHead('Content-Length: 5\r\nContent-Length: 7\r\n')}hello${smuggled}`);
    expect(statuses(answer.reply)).not.toContain(202);
    expect(answer.outcome).not.toBe('timeout');
    expect(await published()).toBe(before);
    await control('after a smuggling attempt');
    expect(watcher.events.some((e) => e.data.includes('smuggled') || e.data === 'hello')).toBe(false);
  });

  it.each([
    ['a list in one Content-Length', 'Content-Length: 5, 5\r\n'],
    ['a signed Content-Length', 'Content-Length: +5\r\n'],
    ['Content-Length beside Transfer-Encoding', 'Content-Length: 5\r\nTransfer-Encoding: chunked\r\n'],
  ])('%s gets 400 (from uWS or from us) and publishes nothing', async (_name, headers) => {
    const before = await published();
    const answer = await rawExchange(server.port, `${publishHead(headers)}hello`);
    expect(statuses(answer.reply)).toEqual([400]);
    expect(await published()).toBe(before);
  });

  it('a chunked publish whose chunk is longer than its size line (f + 17 bytes) gets 411 and publishes nothing', async () => {
    const before = await published();
    const answer = await rawExchange(server.port, `${publishHead('Transfer-Encoding: chunked\r\n')}f\r\n${'x'.repeat(17)}\r\n0\r\n\r\n`);
    expect(statuses(answer.reply)).toEqual([411]);
    expect(answer.reply).toContain('"code":"LENGTH_REQUIRED"');
    expect(answer.outcome).not.toBe('timeout');
    expect(await published()).toBe(before);
  });

  it('a well-formed chunked publish also gets 411 with a message saying to send a Content-Length', async () => {
    const before = await published();
    const answer = await rawExchange(server.port, `${publishHead('Transfer-Encoding: chunked\r\n')}5\r\nhello\r\n0\r\n\r\n`);
    expect(statuses(answer.reply)).toEqual([411]);
    expect(answer.reply).toMatch(/Content-Length/);
    expect(await published()).toBe(before);
    await control('after chunked publishes');
  });
});

describe('HEAD answers like GET, without a body', () => {
  it.each(['/healthz', '/'])('HEAD %s keeps a keep-alive connection in step: the pipelined GET after it is read right', async (path) => {
    const answer = await rawExchange(server.port, `HEAD ${path} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, { untilAnswers: 2, bodiless: 1 });
    expect(statuses(answer.reply)).toEqual([200, 200]);
    const [head, rest] = answer.reply.split(/\r\n\r\n/, 2) as [string, string];
    expect(head).not.toMatch(/\r\nTransfer-Encoding:/i);
    // nothing between the HEAD answer's head and the next status line: no body
    expect(rest).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.reply).toContain('"status":"ok"');
  });

  // Answered later (the main thread renders it), so not pipelined: uWS closes a connection that
  // pipelines while an answer is pending.
  it('HEAD /metrics answers the head of the metrics and no body', async () => {
    const answer = await rawExchange(server.port, 'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n', { idleMs: 1_000 });
    expect(statuses(answer.reply)).toEqual([200]);
    expect(answer.reply).toMatch(/\r\nContent-Length: [1-9]\d*\r\n/);
    expect(answer.reply.endsWith('\r\n\r\n')).toBe(true);
  });

  it('HEAD /events answers the stream head and opens no stream', async () => {
    const before = await server.metric('sse_connections');
    const answer = await rawExchange(server.port, `HEAD /events?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, { untilAnswers: 2, bodiless: 1 });
    expect(statuses(answer.reply)).toEqual([200, 200]);
    expect(answer.reply).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*Content-Type: text\/event-stream; charset=utf-8\r\n/);
    expect(await server.metric('sse_connections')).toBe(before);
  });

  it('HEAD /events with a bad topic answers 400 without a body', async () => {
    const answer = await rawExchange(server.port, `HEAD /events?topic=b%20d HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, { untilAnswers: 2, bodiless: 1 });
    expect(statuses(answer.reply)).toEqual([400, 200]);
  });

  it('405 for other methods lists HEAD as allowed', async () => {
    const res = await fetch(`${server.url}/healthz`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('an early 413 is seen as a 413', () => {
  it('a body declared over MAX_PUBLISH_BYTES and still being sent gets its 413 before the close, and nothing is published', async () => {
    const before = await published();
    const body = Buffer.alloc(MAX_PUBLISH_BYTES * 64, 0x61);
    // head and the whole body in one write, as a proxy forwarding a large JSON array would
    const answer = await rawExchange(server.port, Buffer.concat([Buffer.from(publishHead(`Content-Length: ${body.length}\r\n`)), body]), { idleMs: 5_000 });
    expect(answer.outcome).not.toBe('reset');
    expect(statuses(answer.reply)).toEqual([413]);
    expect(answer.reply).toContain('"code":"BODY_TOO_LARGE"');
    expect(await published()).toBe(before);
  });

  it('the bytes of a refused body are never read as a request', async () => {
    const smuggled = `POST /publish?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbad`;
    const body = smuggled + 'x'.repeat(MAX_PUBLISH_BYTES);
    const before = await published();
    const answer = await rawExchange(server.port, `${publishHead(`Content-Length: ${body.length}\r\n`)}${body}`, { idleMs: 3_000 });
    expect(statuses(answer.reply)).toEqual([413]);
    expect(await published()).toBe(before);
    await control('after a refused body');
  });
});

describe('subscriber tokens', () => {
  it('a malformed percent-escape in the sse_token cookie gets 401, not 500', async () => {
    const secure = await startServer({ JWT_SECRET: 's'.repeat(32) });
    try {
      const res = await fetch(`${secure.url}/events?topic=${TOPIC}`, { headers: { cookie: 'sse_token=%E0%A4%A' } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { code: string }).code).toBe('UNAUTHORIZED');
      expect(secure.output()).not.toMatch(/URIError|internal error/);
    } finally {
      await secure.stop();
    }
  });
});

describe('limits of the uWS parser, documented (front it with the shipped nginx)', () => {
  it('HTTP/1.0 gets 505 from uWS itself', async () => {
    const answer = await rawExchange(server.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(statuses(answer.reply)).toEqual([505]);
  });

  it('after all of it the watcher has exactly the events published on purpose, and the server is up', async () => {
    await control('last');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
