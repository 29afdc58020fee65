// Idempotency-Key on POST /publish against the real server: a retry answers the first publish's ids
// and publishes nothing new, after SIGTERM and kill -9 restarts (the keys are in the durable log),
// in memory-only mode, for two retries in flight at once (on any shard), per item in a JSON batch,
// and in cluster mode on another server (the keys are in a real Redis); a different body is 409.
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { startServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { resumeUntil } from '../helpers/sse-client.js';

const servers: TestServer[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  for (const c of cleanups.splice(0)) await c();
});

async function start(env: Record<string, string>): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

async function restart(server: TestServer, signal: NodeJS.Signals, env: Record<string, string>): Promise<TestServer> {
  await server.stop(signal);
  servers.splice(servers.indexOf(server), 1);
  return start(env);
}

/** A raw publish with a key: status and body. */
async function keyed(url: string, topic: string, data: string, key: string, event?: string): Promise<{ status: number; body: { id?: string; code?: string } }> {
  const q = new URLSearchParams({ topic, ...(event ? { event } : {}) });
  const res = await fetch(`${url}/publish?${q}`, { method: 'POST', body: data, headers: { 'idempotency-key': key } });
  return { status: res.status, body: (await res.json()) as { id?: string; code?: string } };
}

async function json(url: string, items: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: { ids?: string[]; code?: string } }> {
  const res = await fetch(`${url}/publish`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: (await res.json()) as { ids?: string[]; code?: string } };
}

/** Every event on `topic` after `from`, up to a fresh marker published now: what a subscriber gets. */
async function eventsAfter(server: TestServer, topic: string, from: string): Promise<{ id: string; data: string }[]> {
  const marker = await server.publish(topic, 'marker');
  const got = await resumeUntil(`${server.url}/events?topic=${topic}`, from, marker);
  expect(got.at(-1)?.id, JSON.stringify(got)).toBe(marker);
  return got.slice(0, -1).map((e) => ({ id: e.id!, data: e.data }));
}

describe('Idempotency-Key on POST /publish', () => {
  it('a retry after a SIGTERM restart and after a kill -9 (DURABILITY=fsync) answers the first id, and subscribers get the event once', async () => {
    const dir = tempDataDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = { DATA_DIR: dir, DURABILITY: 'fsync', PORT: String(await freePort()) };
    let server = await start(env);
    const before = await server.publish('orders', 'before');
    const first = await keyed(server.url, 'orders', 'paid', 'order-1');
    expect(first.status).toBe(202);
    // the same key as a per-item key of a JSON batch: a different namespace would publish twice
    const batch = await json(server.url, [{ topic: 'orders', data: 'shipped', idempotencyKey: 'order-2' }, { topic: 'orders', data: 'unkeyed' }]);
    expect(batch.status).toBe(202);

    server = await restart(server, 'SIGTERM', env);
    expect(await keyed(server.url, 'orders', 'paid', 'order-1')).toEqual({ status: 202, body: { id: first.body.id } });
    server = await restart(server, 'SIGKILL', env);
    expect(await keyed(server.url, 'orders', 'paid', 'order-1')).toEqual({ status: 202, body: { id: first.body.id } });
    const again = await json(server.url, [{ topic: 'orders', data: 'shipped', idempotencyKey: 'order-2' }]);
    expect(again).toEqual({ status: 202, body: { ids: [batch.body.ids![0]] } });
    expect((await keyed(server.url, 'orders', 'refunded', 'order-1')).body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    expect(await eventsAfter(server, 'orders', before)).toEqual([
      { id: first.body.id, data: 'paid' },
      { id: batch.body.ids![0], data: 'shipped' },
      { id: batch.body.ids![1], data: 'unkeyed' },
    ]);
  }, 120_000);

  it('memory only (DATA_DIR=): a retry answers the first id; the same key with another topic, event or data is 409 IDEMPOTENCY_KEY_REUSED and publishes nothing', async () => {
    const server = await start({ DATA_DIR: '' });
    const before = await server.publish('t', 'before');
    const first = await keyed(server.url, 't', 'x', 'k1', 'e');
    expect(first.status).toBe(202);
    expect(await keyed(server.url, 't', 'x', 'k1', 'e')).toEqual(first);
    for (const [topic, data, event] of [['u', 'x', 'e'], ['t', 'y', 'e'], ['t', 'x', 'f'], ['t', 'x', undefined]] as const) {
      const r = await keyed(server.url, topic, data, 'k1', event);
      expect(r.status, `${topic} ${data} ${event}`).toBe(409);
      expect(r.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    }
    expect(await eventsAfter(server, 't', before)).toEqual([{ id: first.body.id, data: 'x' }]);
  }, 60_000);

  it('a JSON batch with per-item keys: keyed items are published once, un-keyed ones every time, ids in item order; one reused key refuses the whole batch', async () => {
    const server = await start({});
    const before = await server.publish('b', 'before');
    const items = [
      { topic: 'b', data: 'one', idempotencyKey: 'i1' },
      { topic: 'b', data: 'free' },
      { topic: 'b', data: 'two', idempotencyKey: 'i2' },
    ];
    const first = await json(server.url, items);
    expect(first.status).toBe(202);
    const retry = await json(server.url, items);
    expect(retry.status).toBe(202);
    const [a, b, c] = first.body.ids!;
    expect(retry.body.ids![0]).toBe(a);
    expect(retry.body.ids![2]).toBe(c);
    expect(retry.body.ids![1]).not.toBe(b);
    const conflict = await json(server.url, [{ topic: 'b', data: 'three', idempotencyKey: 'i3' }, { topic: 'b', data: 'changed', idempotencyKey: 'i2' }]);
    expect([conflict.status, conflict.body.code]).toEqual([409, 'IDEMPOTENCY_KEY_REUSED']);
    // the header's key covers the whole batch
    const whole = [{ topic: 'b', data: 'h1' }, { topic: 'b', data: 'h2' }];
    const h = await json(server.url, whole, { 'idempotency-key': 'whole' });
    expect(await json(server.url, whole, { 'idempotency-key': 'whole' })).toEqual(h);
    expect(await eventsAfter(server, 'b', before)).toEqual([
      { id: a, data: 'one' },
      { id: b, data: 'free' },
      { id: c, data: 'two' },
      { id: retry.body.ids![1], data: 'free' },
      { id: h.body.ids![0], data: 'h1' },
      { id: h.body.ids![1], data: 'h2' },
    ]);
  }, 60_000);

  it('bad keys are 400 BAD_IDEMPOTENCY_KEY: too long, not visible ASCII, header and per-item together, one per-item key twice', async () => {
    const server = await start({});
    expect((await keyed(server.url, 't', 'x', 'k'.repeat(257))).body.code).toBe('BAD_IDEMPOTENCY_KEY');
    expect((await json(server.url, [{ topic: 't', data: 'x', idempotencyKey: 'a b' }])).body.code).toBe('BAD_IDEMPOTENCY_KEY');
    expect((await json(server.url, [{ topic: 't', data: 'x', idempotencyKey: 7 }])).body.code).toBe('BAD_IDEMPOTENCY_KEY');
    expect((await json(server.url, [{ topic: 't', data: 'x', idempotencyKey: 'a' }], { 'idempotency-key': 'b' })).body.code).toBe('BAD_IDEMPOTENCY_KEY');
    const twice = await json(server.url, [{ topic: 't', data: 'x', idempotencyKey: 'a' }, { topic: 't', data: 'y', idempotencyKey: 'a' }]);
    expect([twice.status, twice.body.code]).toEqual([400, 'BAD_IDEMPOTENCY_KEY']);
  });

  it('concurrent duplicates (40 retries in flight at once on separate connections, so on every shard) publish once and all answer the same id', async () => {
    const server = await start({ DURABILITY: 'fsync' });
    const before = await server.publish('c', 'before');
    for (const key of ['c1', 'c2', 'c3']) {
      const answers = await Promise.all(Array.from({ length: 40 }, () => keyed(server.url, 'c', key, key)));
      expect(new Set(answers.map((a) => `${a.status} ${a.body.id}`)).size, JSON.stringify(answers[0])).toBe(1);
    }
    expect((await eventsAfter(server, 'c', before)).map((e) => e.data)).toEqual(['c1', 'c2', 'c3']);
  }, 60_000);
});

describe('Idempotency-Key in cluster mode (keys in Redis beside the stream)', () => {
  let redis: RedisServer;
  it('a retry on another server answers the first ids; concurrent retries on both publish once; a different body is 409', async () => {
    redis = await startRedisServer({ persist: false });
    cleanups.push(() => redis.stop());
    const a = await start({ REDIS_URL: redis.url });
    const b = await start({ REDIS_URL: redis.url });
    const before = await a.publish('r', 'before');
    const first = await keyed(a.url, 'r', 'x', 'rk1');
    expect(first.status).toBe(202);
    expect(await keyed(b.url, 'r', 'x', 'rk1')).toEqual(first);
    expect((await keyed(b.url, 'r', 'other', 'rk1')).body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => keyed((i % 2 ? a : b).url, 'r', 'y', 'rk2')));
    expect(new Set(answers.map((r) => `${r.status} ${r.body.id}`)).size).toBe(1);
    const items = [{ topic: 'r', data: 'p1', idempotencyKey: 'rk3' }, { topic: 'r', data: 'free' }];
    const batch = await json(a.url, items);
    const retry = await json(b.url, items);
    expect(retry.body.ids![0]).toBe(batch.body.ids![0]);
    expect(retry.body.ids![1]).not.toBe(batch.body.ids![1]);
    expect((await eventsAfter(b, 'r', before)).map((e) => [e.id, e.data])).toEqual([
      [first.body.id, 'x'],
      [answers[0]!.body.id, 'y'],
      [batch.body.ids![0], 'p1'],
      [batch.body.ids![1], 'free'],
      [retry.body.ids![1], 'free'],
    ]);
  }, 60_000);
});
