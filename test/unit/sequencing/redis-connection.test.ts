// The cluster mode's connections to Redis: a port that accepts but never answers as Redis does
// cannot hold a connection for good, and a caller can wait a bounded time for a reconnect.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { openRedis, whenReady } from '../../../src/sequencing/redis-connection.js';
import { startRedisServer } from '../../support/redis-server.js';
import { waitFor } from '../../helpers/server.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

/** A TCP server that accepts connections and never says a word, counting them. */
async function silentServer(): Promise<{ url: string; accepted: () => number }> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(r));
  });
  return { url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`, accepted: () => accepted };
}

function track(connection: Redis): Redis {
  cleanup.push(() => connection.disconnect());
  return connection;
}

describe('openRedis', () => {
  it('drops a connection that reached a port but never got an answer, and dials again, even without a command timeout', async () => {
    const stranger = await silentServer();
    const states: boolean[] = [];
    // as the reader's, which blocks in XREAD: nothing else would end the wait for the ready check
    const connection = track(openRedis(stranger.url, (ready) => states.push(ready), { commandTimeout: undefined }));
    connection.connect().catch(() => {});
    await waitFor(() => stranger.accepted() >= 2, 'a second attempt after the silent handshake', 15_000);
    expect(connection.status).not.toBe('ready');
    expect(states).not.toContain(true);
  });

  it('reports ready, then not ready when Redis goes away, then ready again when it returns', async () => {
    const redis = await startRedisServer({ persist: false });
    cleanup.push(() => redis.stop());
    const states: boolean[] = [];
    const connection = track(openRedis(redis.url, (ready) => states.push(ready)));
    await connection.connect();
    expect(states).toEqual([true]);
    await redis.stop();
    await waitFor(() => states.at(-1) === false, 'not ready');
    await redis.start();
    await waitFor(() => states.at(-1) === true, 'ready again');
  });
});

describe('whenReady', () => {
  it('answers false after the bound while nothing answers, true at once when ready', async () => {
    const stranger = await silentServer();
    const stuck = track(openRedis(stranger.url, () => {}));
    stuck.connect().catch(() => {});
    expect(await whenReady(stuck, 50)).toBe(false);

    const redis = await startRedisServer({ persist: false });
    cleanup.push(() => redis.stop());
    const connection = track(openRedis(redis.url, () => {}));
    const ready = whenReady(connection, 10_000);
    await connection.connect();
    expect(await ready).toBe(true);
    expect(await whenReady(connection, 0)).toBe(true);
  });
});
