// A resume from the start of a 140,000-event history: the replay streams as the client reads it
// (bounded memory, the server's RSS reported), live events follow it in order or meet the
// slow-consumer policy, and every way a stream ends gives its connection slots back. Subscribers
// need a token, so each stream also goes through the asynchronous token check.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { createGunzip, gunzipSync } from 'node:zlib';
import { createParser } from 'eventsource-parser';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const EVENTS = 140_000;
const PER_REQUEST = 5_000;
/** ~140 B per event on the wire, incompressible: the replay is ~20 MB, gzip or not, more than socket buffers hold */
const data = (): string => randomBytes(75).toString('base64');
const PUBLISH_TOKEN = 'pub-token-0123456789-abcdefghij';
const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
const PER_IP = 2;
/** open streams, closed after each test even when it fails, so that the next one starts with none */
const opened: RawStream[] = [];

let server: TestServer;
let epoch: string;
let token: string;

async function publish(items: Array<{ topic: string; data: string }>): Promise<string[]> {
  const res = await fetch(`${server.url}/publish`, {
    method: 'POST',
    body: JSON.stringify(items),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PUBLISH_TOKEN}` },
  });
  const body = (await res.json()) as { ids: string[] };
  expect(res.status, JSON.stringify(body)).toBe(202);
  return body.ids;
}

const health = async (): Promise<{ connections: number; lastSeq: number; epoch: string }> => (await fetch(`${server.url}/healthz`)).json() as never;

/** The server's resident memory now (its threads share the process). */
const rssMiB = (): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.proc.pid}/status`, 'utf8'))![1]) / 1024;

async function resume(): Promise<RawStream> {
  const stream = await openStream(`${server.url}/events?topic=t`, { 'last-event-id': `${epoch}-0`, authorization: `Bearer ${token}` });
  opened.push(stream);
  return stream;
}

/** Every id is the next sequence number: no gap, no duplicate, nothing out of order. */
function expectConsecutive(stream: RawStream, count: number): void {
  expect(stream.events.length).toBe(count);
  const wrong = stream.events.findIndex((e, i) => e.id !== `${epoch}-${i + 1}`);
  expect(wrong, `event ${wrong} has id ${stream.events[wrong]?.id}`).toBe(-1);
}

beforeAll(async () => {
  // gzip only for clients that ask for it: the others here get identity
  const env = { HISTORY_SIZE: String(EVENTS + 1_000), MAX_PUBLISH_BYTES: String(1 << 20), PUBLISH_TOKEN, JWT_SECRET, MAX_CONNECTIONS_PER_IP: String(PER_IP), COMPRESSION: 'gzip', DEBUG_FAULTS: '1' };
  server = await startServer(env);
  token = await new SignJWT({ topics: ['t'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(JWT_SECRET));
  for (let i = 0; i < EVENTS; i += PER_REQUEST) await publish(Array.from({ length: PER_REQUEST }, () => ({ topic: 't', data: data() })));
  epoch = (await health()).epoch;
}, 120_000);

afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

afterAll(async () => {
  await server?.stop();
});

/** Every stream closed on the server, and with it every connection slot. */
async function slotsBack(): Promise<void> {
  await waitFor(async () => (await health()).connections === 0, 'every connection slot given back', 20_000);
  expect(await server.metric('sse_connections')).toBe(0);
}

describe('a resume that replays 140,000 events', () => {
  it('streams every event in order, then live ones, in bounded memory; the process lives and the slots come back', async () => {
    let published = EVENTS;
    const before = rssMiB();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB())), 20);
    try {
      const stream = await resume();
      expect(stream.status).toBe(200);
      await stream.waitForEvents(EVENTS, 120_000);
      published += (await publish([{ topic: 't', data: 'live' }])).length;
      await stream.waitForEvents(published);
      expectConsecutive(stream, published);
      expect(stream.events.at(-1)!.data).toBe('live');
      stream.close();
    } finally {
      clearInterval(sampler);
    }
    // measured, not asserted: the whole replay is ~20 MB
    console.log(`server RSS during the ${EVENTS}-event replay: ${before.toFixed(1)} MiB before, ${peak.toFixed(1)} MiB peak (+${(peak - before).toFixed(1)} MiB)`);
    await slotsBack();
  }, 180_000);

  it('live events published while the replay waits for a client that does not read come after it, in order', async () => {
    const stream = await resume();
    stream.pause();
    // the replay is stalled on backpressure: what is published now must wait behind it
    await waitFor(async () => (await server.metric('sse_backpressure_bytes')) > 0, 'the replay to meet backpressure', 30_000);
    const { lastSeq } = await health();
    const live = await publish(Array.from({ length: 10 }, (_, i) => ({ topic: 't', data: `live ${i}` })));
    stream.resume();
    await stream.waitForEvents(lastSeq + live.length, 120_000);
    expectConsecutive(stream, lastSeq + live.length);
    expect(stream.events.slice(-live.length).map((e) => e.id)).toEqual(live);
    stream.close();
    await slotsBack();
  }, 180_000);

  it('live events that pile up behind a stalled replay past MAX_BACKPRESSURE meet the slow-consumer policy', async () => {
    const disconnects = await server.metric('sse_slow_consumer_disconnects_total');
    const stream = await resume();
    stream.pause();
    await waitFor(async () => (await server.metric('sse_backpressure_bytes')) > 0, 'the replay to meet backpressure', 30_000);
    // 2 x 800 KB of live events: past the default MAX_BACKPRESSURE (1 MiB)
    for (let i = 0; i < 2; i++) await publish(Array.from({ length: 100 }, () => ({ topic: 't', data: 'y'.repeat(8_000) })));
    await waitFor(async () => (await server.metric('sse_slow_consumer_disconnects_total')) > disconnects, 'the slow consumer to be disconnected', 30_000);
    expect(await server.metric('sse_backpressure_peak_bytes')).toBeLessThanOrEqual((1 << 20) + 2 * 100 * 8_100);
    stream.close();
    await slotsBack();
  }, 180_000);

  it('clients that go away mid-replay give their slots back: the same address is admitted again and again', async () => {
    for (let attempt = 0; attempt < PER_IP + 2; attempt++) {
      const stream = await resume();
      expect(stream.status).toBe(200);
      await stream.waitForEvents(1, 30_000); // the replay has begun
      stream.close();
      await slotsBack();
    }
  }, 180_000);

  it('COMPRESSION=gzip: the replay and the live events that waited behind it are one strict gzip member, in order', async () => {
    let ids: string[] = [];
    const raw: Buffer[] = [];
    const parser = createParser({ onEvent: (e) => ids.push(e.id!) });
    const gunzip = createGunzip().setEncoding('utf8');
    gunzip.on('data', (text: string) => parser.feed(text));
    let res!: http.IncomingMessage;
    await new Promise<void>((resolve, reject) => {
      const headers = { accept: 'text/event-stream', 'accept-encoding': 'gzip', 'last-event-id': `${epoch}-0`, authorization: `Bearer ${token}` };
      http.get(`${server.url}/events?topic=t`, { headers, agent: false }, (r) => {
        res = r;
        r.on('data', (b: Buffer) => (raw.push(b), gunzip.write(b)));
        resolve();
      }).on('error', reject);
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    res.pause();
    await waitFor(async () => (await server.metric('sse_backpressure_bytes')) > 0, 'the replay to meet backpressure', 30_000);
    const { lastSeq } = await health();
    const live = await publish(Array.from({ length: 10 }, (_, i) => ({ topic: 't', data: `live ${i}` })));
    res.resume();
    await waitFor(() => ids.length >= lastSeq + live.length, `${lastSeq + live.length} events (have ${ids.length})`, 120_000);
    const closed = new Promise((r) => res.on('close', r));
    await fetch(`${server.url}/_debug/close-streams`, { method: 'POST' }); // a clean end: the trailer's CRC-32 and length
    await closed;
    ids = [];
    createParser({ onEvent: (e) => ids.push(e.id!) }).feed(gunzipSync(Buffer.concat(raw)).toString('utf8')); // strict: a complete member
    expect(ids).toEqual(Array.from({ length: lastSeq + live.length }, (_, i) => `${epoch}-${i + 1}`));
    await slotsBack();
  }, 180_000);
});
