// Cluster mode: a Last-Event-ID ahead of this server makes the stream wait (up to 2 s) for another
// server's events to arrive. Anyone can send such an id, so a waiter must leave when its client goes
// away or its wait times out: sse_resume_waiters counts them, over raw sockets.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

let redis: RedisServer;
let server: TestServer;
let ahead: string;

beforeAll(async () => {
  redis = await startRedisServer({ persist: false });
  server = await startServer({ REDIS_URL: redis.url });
  await server.publish('t', 'one');
  const { epoch } = (await (await fetch(`${server.url}/healthz`)).json()) as { epoch: string };
  ahead = `${epoch}-999999999999`; // never reached
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

/** A stream request with the ahead id on a raw socket, written whole; resolves once it is sent. */
function requestAhead(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(server.port, '127.0.0.1', () => {
      socket.write(`GET /events?topic=t HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\nLast-Event-ID: ${ahead}\r\n\r\n`, () => resolve(socket));
    });
    socket.setEncoding('latin1');
    socket.on('error', reject);
  });
}

const waiters = (): Promise<number> => server.metric('sse_resume_waiters');

describe('resume waiters (Last-Event-ID ahead of this server)', () => {
  it('leave as soon as their client goes away', async () => {
    const sockets = await Promise.all(Array.from({ length: 50 }, requestAhead));
    await waitFor(async () => (await waiters()) === 50, 'all 50 requests waiting');
    for (const s of sockets) s.destroy();
    await waitFor(async () => (await waiters()) === 0, 'every waiter gone with its client');
  });

  it('leave when their wait times out: the stream opens with a reset', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, requestAhead));
    const replies = sockets.map((s) => {
      const reply = { text: '' };
      s.on('data', (d: string) => (reply.text += d));
      return reply;
    });
    await waitFor(() => replies.every((r) => r.text.includes('event: reset')), 'every stream opened with a reset', 20_000);
    expect(await waiters()).toBe(0);
    for (const s of sockets) s.destroy();
  });

  it('many clients that go away at once, right after sending: none is left waiting', async () => {
    for (let round = 0; round < 5; round++) {
      const sockets = await Promise.all(Array.from({ length: 200 }, requestAhead));
      for (const s of sockets) s.destroy();
    }
    await waitFor(async () => (await waiters()) === 0, 'every waiter gone with its client');
    // and the server still answers
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
  });
});
