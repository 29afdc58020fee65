// Bad input of every kind is answered with the catalog status and a JSON `{error, code}` body, and
// never disturbs anyone else: one subscriber stays open through the whole file and must end up with
// exactly the events published during it, in order.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawExchange as rawAnswer, type RawReply } from '../helpers/raw-http.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MAX_PUBLISH_BYTES = 1024;
const TOPIC = 'bad-input';
const LONGEST_TOPIC = 't'.repeat(128);

let server: TestServer;
let watcher: RawStream;
/** every event accepted during the file, in publish order: what `watcher` must have received */
const published: { id: string; data: string }[] = [];
let controls = 0;

/** Publishes one event the watcher must receive, and checks it has received exactly `published` so far. */
async function control(): Promise<void> {
  const data = `control ${++controls}`;
  const id = await server.publish(TOPIC, data);
  published.push({ id, data });
  await watcher.waitForEvents(published.length);
  expect(watcher.events.map((e) => ({ id: e.id, data: e.data }))).toEqual(published);
}

async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = JSON.parse(text) as { error: unknown; code: unknown };
  expect(body.code).toBe(code);
  expect(typeof body.error).toBe('string');
  expect((body.error as string).length).toBeGreaterThan(0);
}

function post(path: string, body: string | Uint8Array<ArrayBuffer>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: 'POST', body, headers });
}

function postJson(value: unknown): Promise<Response> {
  return post('/publish', typeof value === 'string' ? value : JSON.stringify(value), { 'content-type': 'application/json' });
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** ms from sending the request head to the complete response */
  ms: number;
}

/**
 * A POST /publish through node:http that sends `chunks` (chunked framing unless the caller declares a
 * Content-Length) and never ends the request unless `end` is set: a response proves the server
 * answered without waiting for the rest of the body.
 */
function rawPublish(opts: { chunks: Buffer[]; headers?: Record<string, string>; end: boolean }): Promise<RawAnswer & { sentHead: string }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const req = http.request(`${server.url}/publish?topic=${TOPIC}`, { method: 'POST', agent: false, headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      // 'close' too: after a refusal whose framing is in doubt the server cuts the body short and closes
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        // the request head exactly as node wrote it (framing headers are not in getHeaders())
        const sentHead = (req as unknown as { _header: string })._header;
        req.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: Date.now() - started, sentHead });
      };
      res.on('end', settle);
      res.on('close', settle);
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.flushHeaders();
    for (const c of opts.chunks) req.write(c);
    if (opts.end) req.end();
  });
}

function rawExchange(bytes: string): Promise<RawReply> {
  // uWS does not answer some malformed heads at all and closes them at its HTTP idle timeout (10 s)
  return rawAnswer(server.port, bytes, { untilAnswers: 1 });
}

beforeAll(async () => {
  server = await startServer({ MAX_PUBLISH_BYTES: String(MAX_PUBLISH_BYTES) });
  watcher = await openStream(`${server.url}/events?topic=${TOPIC}&topic=${LONGEST_TOPIC}`);
  expect(watcher.status).toBe(200);
  await control();
});

afterAll(async () => {
  watcher?.close();
  await server?.stop();
});

describe('413 BODY_TOO_LARGE', () => {
  it('answers a body over MAX_PUBLISH_BYTES with a Content-Length, raw and JSON, and publishes nothing', async () => {
    const before = await server.metric('sse_events_published_total');
    await expectError(await post(`/publish?topic=${TOPIC}`, 'x'.repeat(MAX_PUBLISH_BYTES + 1)), 413, 'BODY_TOO_LARGE');
    await expectError(await post(`/publish?topic=${TOPIC}`, Buffer.alloc(200_000, 0x61)), 413, 'BODY_TOO_LARGE');
    const json = JSON.stringify({ topic: TOPIC, data: 'y'.repeat(MAX_PUBLISH_BYTES) });
    await expectError(await postJson(json), 413, 'BODY_TOO_LARGE');
    expect(await server.metric('sse_events_published_total')).toBe(before);
    await control();
  });

  it('accepts a body of exactly MAX_PUBLISH_BYTES', async () => {
    const data = 'z'.repeat(MAX_PUBLISH_BYTES);
    const id = await server.publish(TOPIC, data);
    published.push({ id, data });
    await control();
  });

  it('refuses a chunked publish with 411 LENGTH_REQUIRED (its framing cannot be checked strictly here), publishing nothing', async () => {
    const before = await server.metric('sse_events_published_total');
    const chunk = Buffer.alloc(300, 0x62);
    const answer = await rawPublish({ chunks: [chunk, chunk], end: true });
    expect(answer.sentHead).not.toMatch(/content-length/i);
    expect(answer.sentHead).toMatch(/\r\ntransfer-encoding: chunked\r\n/i);
    expect(answer.status, answer.body).toBe(411);
    expect(answer.body).toContain('"code":"LENGTH_REQUIRED"');
    expect(await server.metric('sse_events_published_total')).toBe(before);
    await control();
  });

  it('answers 413 from the declared Content-Length alone, before any of a huge body is sent', async () => {
    // 1 GB declared, nothing sent: the answer can only come from the server not waiting for it
    const answer = await rawPublish({ chunks: [], headers: { 'content-length': String(1 << 30) }, end: false });
    expect(answer.status, answer.body).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'BODY_TOO_LARGE' });
    expect(answer.ms).toBeLessThan(5_000);
    await control();
  });

  it('refuses an unfinished chunked body at once with 411, without waiting for its end', async () => {
    const chunk = Buffer.alloc(700, 0x63);
    const answer = await rawPublish({ chunks: [chunk, chunk], end: false });
    expect(answer.status, answer.body).toBe(411);
    await control();
  });
});

describe('400 BAD_TOPIC / MISSING_TOPIC', () => {
  const badTopics = ['', 'x'.repeat(129), 'two words', ' lead', 'tab\there', 'ünïcödé', 'emoji-😀', 'semi;colon', 'q?x', 'a,b'];

  it.each(badTopics)('refuses publish to topic %j (query and JSON)', async (topic) => {
    await expectError(await post(`/publish?topic=${encodeURIComponent(topic)}`, 'payload'), 400, 'BAD_TOPIC');
    await expectError(await postJson({ topic, data: 'payload' }), 400, 'BAD_TOPIC');
  });

  it('refuses publish without a topic, or with a non-string one', async () => {
    await expectError(await post('/publish', 'payload'), 400, 'BAD_TOPIC');
    await expectError(await postJson({ data: 'payload' }), 400, 'BAD_TOPIC');
    await expectError(await postJson({ topic: 42, data: 'payload' }), 400, 'BAD_TOPIC');
    await control();
  });

  it.each(badTopics)('refuses a stream on topic %j', async (topic) => {
    const res = await fetch(`${server.url}/events?topic=${encodeURIComponent(topic)}`, { headers: { accept: 'text/event-stream' } });
    await expectError(res, 400, 'BAD_TOPIC');
  });

  it('refuses a stream when one of several topics is bad, including in topics=a,b', async () => {
    await expectError(await fetch(`${server.url}/events?topic=${TOPIC}&topic=bad%20one`), 400, 'BAD_TOPIC');
    await expectError(await fetch(`${server.url}/events?topics=${TOPIC},`), 400, 'BAD_TOPIC');
    await expectError(await fetch(`${server.url}/events?topics=${TOPIC},%C3%A9`), 400, 'BAD_TOPIC');
  });

  it('refuses a stream without any topic with MISSING_TOPIC', async () => {
    await expectError(await fetch(`${server.url}/events`, { headers: { accept: 'text/event-stream' } }), 400, 'MISSING_TOPIC');
    await expectError(await fetch(`${server.url}/events?lastEventId=x&tpic=a`), 400, 'MISSING_TOPIC');
    await control();
  });

  it('accepts the longest topic (128 characters), the boundary the limit is measured from', async () => {
    const id = await server.publish(LONGEST_TOPIC, 'longest');
    published.push({ id, data: 'longest' });
    await control();
  });
});

describe('400 for bad JSON bodies, and batches are all or nothing', () => {
  it.each(['{"topic":', 'not json', '', '{"topic": "a", "data": "b"} trailing', "{'topic': 'a'}"])('refuses broken JSON %j with BAD_JSON', async (body) => {
    await expectError(await postJson(body), 400, 'BAD_JSON');
  });

  it.each([
    ['a bad topic', [{ topic: TOPIC, data: 'must-not-1' }, { topic: TOPIC, data: 'must-not-2' }, { topic: 'bad topic', data: 'x' }], 'BAD_TOPIC'],
    ['missing data', [{ topic: TOPIC, data: 'must-not-1' }, { topic: TOPIC }], 'BAD_PUBLISH_ITEM'],
    ['a null item', [{ topic: TOPIC, data: 'must-not-1' }, null], 'BAD_PUBLISH_ITEM'],
    ['a bad event name', [{ topic: TOPIC, data: 'must-not-1' }, { topic: TOPIC, data: 'x', event: 'a\nb' }], 'BAD_EVENT_NAME'],
  ])('refuses a whole array with %s and publishes none of it', async (_what, items, code) => {
    const before = await server.metric('sse_events_published_total');
    await expectError(await postJson(items), 400, code);
    expect(await server.metric('sse_events_published_total')).toBe(before);
    // had any item gone through, the watcher would see it before this control event
    await control();
  });

  it('refuses an empty array', async () => {
    const before = await server.metric('sse_events_published_total');
    await expectError(await postJson([]), 400, 'EMPTY_BATCH');
    expect(await server.metric('sse_events_published_total')).toBe(before);
  });

  it('still publishes a valid array whole, with consecutive ids in order', async () => {
    const res = await postJson([{ topic: TOPIC, data: 'batch-1' }, { topic: TOPIC, data: 'batch-2', event: 'named' }]);
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };
    expect(ids).toHaveLength(2);
    published.push({ id: ids[0]!, data: 'batch-1' }, { id: ids[1]!, data: 'batch-2' });
    await control();
    expect(watcher.events.find((e) => e.data === 'batch-2')?.event).toBe('named');
  });
});

describe('400 BAD_EVENT_NAME', () => {
  it.each(['a%0Db', 'a%0Ab', '%0D%0A', 'x%0D%0Aid:%2099', 'nul%00'])('refuses ?event=%s', async (event) => {
    await expectError(await post(`/publish?topic=${TOPIC}&event=${event}`, 'payload'), 400, 'BAD_EVENT_NAME');
  });

  it.each(['a\rb', 'a\nb', '\r\n', 'x\r\ndata: injected', 'nul\u0000'])('refuses JSON event %j', async (event) => {
    await expectError(await postJson({ topic: TOPIC, data: 'payload', event }), 400, 'BAD_EVENT_NAME');
  });

  it('published nothing for any of them', async () => {
    await control();
    expect(watcher.events.some((e) => e.data === 'payload' || e.data.includes('injected'))).toBe(false);
  });
});

describe('400 BAD_ENCODING', () => {
  const invalid: [string, number[]][] = [
    ['a lone 0xff', [0x61, 0xff, 0x62]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0x61, 0xe2, 0x82]],
  ];

  it.each(invalid)('refuses a raw body with %s', async (_what, bytes) => {
    await expectError(await post(`/publish?topic=${TOPIC}`, Uint8Array.from(bytes)), 400, 'BAD_ENCODING');
  });

  it.each(invalid)('refuses a JSON body with %s inside a string', async (_what, bytes) => {
    const body = Buffer.concat([Buffer.from(`{"topic":"${TOPIC}","data":"`), Buffer.from(bytes), Buffer.from('"}')]);
    await expectError(await post('/publish', body, { 'content-type': 'application/json' }), 400, 'BAD_ENCODING');
  });

  it('still accepts multi-byte UTF-8 and newlines', async () => {
    const data = 'héllo 😀\nsecond line';
    const id = await server.publish(TOPIC, data);
    published.push({ id, data });
    await control();
  });
});

describe('a Last-Event-ID that cannot be resumed opens the stream with a reset frame', () => {
  it('sends a reset frame, then live events, for garbage in the header or the query, never a 400', async () => {
    const { epoch } = (await (await fetch(`${server.url}/healthz`)).json()) as { epoch: string };
    const cases: { header?: string; query?: string; reason: string }[] = [
      { header: 'garbage!!', reason: 'history' },
      { header: Buffer.from('random bytes \u0001\u00ff').toString('base64'), reason: 'history' },
      { header: 'x'.repeat(3_000), reason: 'history' },
      { header: '9'.repeat(40), reason: 'history' },
      { header: 'abc-5', reason: 'epoch' },
      { header: `${epoch}-99999999`, reason: 'history' },
      { header: '-', reason: 'history' },
      { query: 'abc-5', reason: 'epoch' },
      { query: '%25%00%FF', reason: 'history' },
      { query: 'q'.repeat(1_000), reason: 'history' },
    ];
    const streams = await Promise.all(
      cases.map((c) =>
        openStream(
          `${server.url}/events?topic=${TOPIC}${c.query !== undefined ? `&lastEventId=${c.query.startsWith('%') ? c.query : encodeURIComponent(c.query)}` : ''}`,
          c.header !== undefined ? { 'last-event-id': c.header } : {},
        ),
      ),
    );
    try {
      for (const s of streams) {
        expect(s.status).toBe(200);
        expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      }
      await Promise.all(streams.map((s) => s.waitForEvents(1)));
      streams.forEach((s, i) => {
        const reset = s.events[0]!;
        expect(reset.event, `case ${i}`).toBe('reset');
        // The stream's position on this server's epoch: where the browser resumes on its next reconnect.
        expect(reset.id, `case ${i}`).toMatch(new RegExp(`^${epoch}-\\d+$`));
        expect(JSON.parse(reset.data), `case ${i}`).toEqual({ reason: cases[i]!.reason });
      });
      await control();
      const live = published.at(-1)!;
      await Promise.all(streams.map((s) => s.waitForEvents(2)));
      for (const s of streams) {
        expect(s.events.slice(1).map((e) => ({ id: e.id, data: e.data }))).toEqual([live]);
        expect(Number(s.events[0]!.id!.split('-')[1])).toBeLessThan(Number(live.id.split('-')[1]));
      }
    } finally {
      for (const s of streams) s.close();
    }
  });
});

describe('raw CR/LF in header values (sent over a plain socket)', () => {
  const requests = [
    `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\rb\r\n\r\n`,
    `GET /events?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: a\rb\r\n\r\n`,
    `GET /events?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: a\nid: x\r\n\r\n`,
    `POST /publish?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nAuthorization: Bearer a\rb\r\n\r\nevil`,
    `POST /publish?topic=${TOPIC} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-Bad: \n\r\n\r\nevil`,
    `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: \0\r\n\r\n`,
  ];

  it('answers each with 400 or closes it, and serves everyone else meanwhile', { timeout: 30_000 }, async () => {
    const answers = requests.map((raw) => rawExchange(raw));
    // while those connections are still held, others are served
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await control();
    const results = await Promise.all(answers);
    results.forEach(({ reply, outcome }, i) => {
      expect(outcome, JSON.stringify(requests[i])).not.toBe('timeout');
      if (reply !== '') expect(reply, JSON.stringify(requests[i])).toMatch(/^HTTP\/1\.1 400 /);
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(server.proc.exitCode).toBeNull();
  });

  it('published nothing from them, and the watcher is still live', async () => {
    await control();
    expect(watcher.events.some((e) => e.data === 'evil')).toBe(false);
  });
});

describe('404 and 405', () => {
  it.each([
    ['GET', '/nope'],
    ['GET', '/events/'],
    ['GET', '/events/extra?topic=a'],
    ['POST', '/publish/extra?topic=a'],
    ['GET', '/healthz/x'],
    ['GET', '/EVENTS?topic=a'],
    ['DELETE', '/nope'],
  ])('%s %s -> 404 NOT_FOUND', async (method, path) => {
    await expectError(await fetch(`${server.url}${path}`, { method }), 404, 'NOT_FOUND');
  });

  it.each([
    ['DELETE', '/events?topic=a', 'GET'],
    ['POST', '/events?topic=a', 'GET'],
    ['GET', '/publish?topic=a', 'POST'],
    ['PUT', '/publish?topic=a', 'POST'],
    ['PUT', '/healthz', 'GET'],
    ['POST', '/metrics', 'GET'],
  ])('%s %s -> 405 METHOD_NOT_ALLOWED with Allow', async (method, path, allowed) => {
    const res = await fetch(`${server.url}${path}`, { method, ...(method === 'PUT' || method === 'POST' ? { body: 'x' } : {}) });
    const allow = res.headers.get('allow');
    await expectError(res, 405, 'METHOD_NOT_ALLOWED');
    expect(allow?.split(',').map((m) => m.trim())).toContain(allowed);
    expect(allow?.split(',').map((m) => m.trim())).not.toContain(method);
  });
});

describe('after all of it', () => {
  it('the watcher received every event published during the file, in order, and /healthz is 200', async () => {
    await control();
    expect(watcher.closed).toBe(false);
    expect(watcher.error).toBeUndefined();
    expect(watcher.events.map((e) => ({ id: e.id, data: e.data }))).toEqual(published);
    expect(await server.metric('sse_events_published_total')).toBe(published.length);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });
    expect(server.proc.exitCode).toBeNull();
    expect(server.output()).not.toMatch(/internal error|fatal|uncaught/i);
  });
});
