// Presence across servers: two servers on one Redis count each other's streams, and a
// server killed with SIGKILL (no goodbye) stops counting within a few seconds, when its key expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

let redis: RedisServer;
let a: TestServer;
let b: TestServer;
const streams: RawStream[] = [];

const subscribers = async (s: TestServer, topic: string): Promise<number> =>
  ((await (await fetch(`${s.url}/topics/${topic}`)).json()) as { subscribers: number }).subscribers;
const listed = async (s: TestServer, prefix: string): Promise<Array<{ topic: string; subscribers: number }>> =>
  ((await (await fetch(`${s.url}/topics?prefix=${prefix}`)).json()) as { topics: Array<{ topic: string; subscribers: number }> }).topics;

beforeAll(async () => {
  redis = await startRedisServer({ persist: false });
  [a, b] = await Promise.all([startServer({ REDIS_URL: redis.url }), startServer({ REDIS_URL: redis.url })]);
});
afterAll(async () => {
  streams.splice(0).forEach((s) => s.close());
  await Promise.all([a?.stop(), b?.stop()]);
  await redis?.stop();
});

describe('presence in cluster mode', () => {
  it('counts sum over both servers, on either of them', async () => {
    for (let i = 0; i < 3; i++) streams.push(await openStream(`${a.url}/events?topic=cl`));
    for (let i = 0; i < 2; i++) streams.push(await openStream(`${b.url}/events?topic=cl&topic=cl-b`));
    for (const s of [a, b]) await waitFor(async () => (await subscribers(s, 'cl')) === 5 && (await subscribers(s, 'cl-b')) === 2, 'the cluster total', 8_000);
    expect(await listed(a, 'cl')).toEqual([{ topic: 'cl', subscribers: 5 }, { topic: 'cl-b', subscribers: 2 }]);
  });

  it('a server killed with SIGKILL stops counting within a few seconds', async () => {
    b.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await subscribers(a, 'cl')) === 3 && (await subscribers(a, 'cl-b')) === 0, "the dead server's streams to leave the count", 10_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(8_000); // the key's 5 s TTL plus one 1 s refresh, at most
    expect(await listed(a, 'cl')).toEqual([{ topic: 'cl', subscribers: 3 }]);
  }, 20_000);
});
