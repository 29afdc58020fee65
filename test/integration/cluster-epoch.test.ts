// Cluster mode: Redis emptied (FLUSHALL) while events flow. The log starts a new epoch; every event
// acknowledged in it reaches the streams once, in order, after one reset whose id resumes it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';

const epochOf = (id: string): string => id.split('-')[0]!;
const seqOf = (id: string): number => Number(id.split('-')[1]);

let redis: RedisServer;
let server: TestServer;
beforeAll(async () => {
  redis = await startRedisServer({ persist: false });
  server = await startServer({ REDIS_URL: redis.url });
});
afterAll(async () => {
  await server?.stop();
  await redis?.stop();
});

describe('cluster mode: Redis emptied while events flow', () => {
  it('every event acknowledged in the new epoch is delivered once, in order, after one reset whose id resumes from the new epoch\'s start', async () => {
    const stream = await openStream(`${server.url}/events?topic=flush`);
    const acked: string[] = [];
    for (let i = 0; i < 40; i++) acked.push(await server.publish('flush', `old ${i}`));
    const oldEpoch = epochOf(acked[0]!);
    await stream.waitForEvents(40);
    const raw = new Redis(redis.url);
    // The reader has read them all and waits in XREAD at the old stream's position: the new epoch's
    // first numbers are below it.
    await waitFor(async () => /flags=b .*cmd=xread/.test((await raw.client('LIST')) as string), 'the reader blocked in XREAD');
    await raw.flushall();
    await raw.quit();
    for (let i = 0; acked.length < 40 + 120; i++) acked.push(await server.publish('flush', `new ${i}`));
    const fresh = acked.filter((id) => epochOf(id) !== oldEpoch);
    const newEpoch = epochOf(fresh[0]!);
    expect(fresh.map(seqOf)).toEqual(Array.from({ length: fresh.length }, (_, i) => i + 1)); // numbered from 1, no gap
    const last = fresh[fresh.length - 1]!;
    await waitFor(() => stream.events.some((e) => e.id === last) || stream.events.length > acked.length + 1, `the newest event, ${last}`, 20_000);
    const resets = stream.events.filter((e) => e.event === 'reset');
    expect(resets.map((e) => e.data)).toEqual([JSON.stringify({ reason: 'epoch' })]);
    const afterReset = stream.events.slice(stream.events.indexOf(resets[0]!) + 1).map((e) => e.id);
    expect(afterReset).toEqual(fresh);
    // The reset's id puts a reconnecting client before the new epoch's first event: it replays them all.
    expect(epochOf(resets[0]!.id!)).toBe(newEpoch);
    const resumed = await openStream(`${server.url}/events?topic=flush`, { 'last-event-id': resets[0]!.id! });
    await resumed.waitForEvents(fresh.length);
    expect(resumed.events.map((e) => e.id)).toEqual(fresh);
    // read once: the batches hold the old events delivered before the reset and the new ones, no more
    expect(await server.metric('sse_batch_events_sum')).toBe(40 + fresh.length);
    resumed.close();
    stream.close();
  }, 60_000);
});
