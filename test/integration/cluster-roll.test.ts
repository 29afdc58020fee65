// Cluster mode needs no log handover (Redis holds the log): start the new server on the same port,
// SIGTERM the old one, and it drains (docs/deploy.md). Reconnecting subscribers and a publisher that
// retries 503s and failed connections with the same Idempotency-Key see one history through the roll.
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { freePort } from '../support/free-port.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { deliveryProblems, refusedWindowMs, steadyPublisher, subscribe } from '../support/rolling-load.js';

let redis: RedisServer | undefined;
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await redis?.stop();
});

describe('rolling a cluster-mode server on one port', () => {
  it('start the new one on the same port, SIGTERM the old one: every answered event reaches every subscriber once, in order, with no reset', async () => {
    redis = await startRedisServer({ persist: false });
    const port = await freePort();
    const env = { REDIS_URL: redis.url, PORT: String(port), RETRY_MS: '100', DRAIN_MS: '1000' };
    const old = await startServer(env);
    servers.push(old);
    const subscribers = subscribe(`${old.url}/events?topic=roll`, 100);
    await waitFor(() => subscribers.every((s) => s.opens > 0), 'every subscriber connected', 30_000);
    const publisher = steadyPublisher(port, 'roll', 5);
    await waitFor(() => subscribers[0]!.ids.length >= 30, 'publishing under way', 30_000);
    const fresh = await startServer(env);
    servers.push(fresh);
    expect(await old.stop()).toBe(0);
    const seen = subscribers[0]!.ids.length;
    await waitFor(() => subscribers[0]!.ids.length >= seen + 30, 'publishing to the new server', 30_000);
    const out = await publisher.stop();
    const lastId = [...out.answered.values()].at(-1)!;
    await waitFor(() => subscribers.every((s) => s.ids.includes(lastId)), 'every subscriber caught up', 60_000);
    for (const s of subscribers) s.es.close();
    const problems = subscribers.map((s) => ({ ...deliveryProblems(s, out.answered), resets: s.resets }));
    expect(problems.filter((p) => p.missing + p.wrongId + p.duplicates + p.outOfOrder + p.unexpected + p.resets > 0)).toEqual([]);
    expect(out.unknown, 'every publish answered (a failed connection is retried with its key)').toEqual([]);
    console.log(`cluster roll: ${out.answered.size} answered, ${out.refused.length} refused, window ${refusedWindowMs(out).toFixed(1)} ms, ${out.connectionErrors} failed connections retried with their key`);
  }, 120_000);
});
