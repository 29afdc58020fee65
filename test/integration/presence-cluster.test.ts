// Presence across servers: two servers on one Redis count each other's streams, and a
// server killed with SIGKILL (no goodbye) stops counting within a few seconds, when its key expires.
import { Redis } from 'ioredis';
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

/** How often Redis has run each of `commands` so far. */
async function commandCalls(r: Redis, commands: string[]): Promise<Record<string, number>> {
  const info = await r.info('commandstats');
  return Object.fromEntries(commands.map((cmd) => [cmd, Number(new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0)]));
}

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

  it('counts that do not change are neither rewritten nor read again, and a change still reaches the other server', async () => {
    const r = new Redis(redis.url);
    try {
      const calls = (): Promise<Record<string, number>> => commandCalls(r, ['hset', 'hgetall']);
      // three refresh rounds of both servers: each one's score in the live set (its last round's time) moves three times
      const rounds = async (): Promise<void> => {
        const seen = new Map<string, Set<string>>();
        await waitFor(async () => {
          const flat = await r.zrange('sse:presence:servers', 0, -1, 'WITHSCORES');
          for (let i = 0; i < flat.length; i += 2) {
            if (!seen.has(flat[i]!)) seen.set(flat[i]!, new Set());
            seen.get(flat[i]!)!.add(flat[i + 1]!);
          }
          return seen.size === 2 && [...seen.values()].every((scores) => scores.size >= 4);
        }, 'three presence rounds of both servers', 15_000);
      };
      await rounds(); // whatever the previous test changed is written and read by now
      const before = await calls();
      await rounds();
      expect(await calls()).toEqual(before);
      streams.push(await openStream(`${b.url}/events?topic=cl`));
      await waitFor(async () => (await subscribers(a, 'cl')) === 6, 'the new stream counted on the other server', 8_000);
    } finally {
      r.disconnect();
    }
  }, 40_000);

  it('a change on one server reaches the other as the change alone: no hash is rewritten or read whole', async () => {
    const r = new Redis(redis.url);
    try {
      const calls = (): Promise<Record<string, number>> => commandCalls(r, ['del', 'hgetall']);
      // both servers have read each other whole by now (the tests before waited for their counts)
      const before = await calls();
      streams.push(await openStream(`${b.url}/events?topic=cl-delta`));
      await waitFor(async () => (await subscribers(a, 'cl-delta')) === 1, 'the new stream counted on the other server', 8_000);
      streams.pop()!.close();
      await waitFor(async () => (await subscribers(a, 'cl-delta')) === 0, 'its end counted on the other server', 8_000);
      expect(await calls()).toEqual(before);
    } finally {
      r.disconnect();
    }
  }, 40_000);

  it('a server killed with SIGKILL stops counting within a few seconds', async () => {
    b.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await waitFor(async () => (await subscribers(a, 'cl')) === 3 && (await subscribers(a, 'cl-b')) === 0, "the dead server's streams to leave the count", 10_000);
    const tookMs = Date.now() - killedAt;
    expect(tookMs).toBeLessThan(8_000); // the key's 5 s TTL plus one 1 s refresh, at most
    expect(await listed(a, 'cl')).toEqual([{ topic: 'cl', subscribers: 3 }]);
  }, 20_000);
});
