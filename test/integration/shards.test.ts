// Worker shards: global order under concurrent publishers, resume on another shard, a shard that
// fails and is replaced, and a slow consumer on one shard not delaying another shard's clients.
import http from 'node:http';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

// These tests need at least two shards, whatever SHARDS the rest of the suite runs with.
const SHARDS = String(Math.max(2, Number(TEST_SHARDS)));

/**
 * One publish on its own connection, so a shard that dies cannot take a pooled socket down with it.
 * A 503 (the acceptor answering itself for a moment while a shard is swapped) published nothing and
 * says to retry, as a publisher would.
 */
async function publishOnce(url: string, topic: string, data: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await publishRequest(url, topic, data);
    } catch (err) {
      if (!/^503 /.test((err as Error).message) || attempt === 20) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function publishRequest(url: string, topic: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/publish?topic=${topic}`, { method: 'POST', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 202 ? resolve((JSON.parse(body) as { id: string }).id) : reject(new Error(`${res.statusCode} ${body}`))));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Until /healthz, asked on new connections (round-robin), has been answered by `count` distinct shards. */
async function everyShardServing(url: string, count: number): Promise<void> {
  const seen = new Set<number>();
  const ask = (): Promise<void> =>
    new Promise((resolve) => {
      const req = http.get(`${url}/healthz`, { agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          if (res.statusCode === 200) seen.add((JSON.parse(body) as { shard: number }).shard);
          resolve();
        });
      });
      req.on('error', () => resolve());
    });
  await waitFor(async () => {
    await ask();
    return seen.size === count;
  }, `all ${count} shards serving`);
}

/** Streams until `count` distinct shards are covered (the acceptor hands sockets round-robin). */
async function streamsOnShards(url: string, count: number, per = 1): Promise<Map<string, RawStream[]>> {
  const byShard = new Map<string, RawStream[]>();
  for (let tries = 0; tries < 50 && [...byShard.values()].filter((l) => l.length >= per).length < count; tries++) {
    const s = await openStream(url);
    const shard = String(s.headers['x-sse-shard']);
    const list = byShard.get(shard) ?? [];
    if (list.length >= per) s.close();
    else byShard.set(shard, [...list, s]);
  }
  expect([...byShard.values()].filter((l) => l.length >= per).length).toBeGreaterThanOrEqual(count);
  return byShard;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe(`worker shards (SHARDS=${SHARDS})`, () => {
  it('every subscriber on every shard gets the same global order under concurrent publishers', async () => {
    server = await startServer({ SHARDS });
    const streams = [...(await streamsOnShards(`${server.url}/events?topic=order`, 2, 3)).values()].flat();
    const publishers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; i < 100; i++) await server!.publish('order', `p${p}-${i}`);
    });
    await Promise.all(publishers);
    for (const s of streams) await s.waitForEvents(400);
    const reference = streams[0]!.events.map((e) => e.id);
    const seqs = reference.map((id) => Number(id!.split('-')[1]));
    expect(seqs).toEqual(Array.from({ length: 400 }, (_, i) => seqs[0]! + i)); // consecutive: no gap, no duplicate
    for (const s of streams) expect(s.events.map((e) => e.id)).toEqual(reference);
    streams.forEach((s) => s.close());
  });

  it('a client resumes on another shard with the id it received from the first', async () => {
    server = await startServer({ SHARDS });
    const first = await openStream(`${server.url}/events?topic=hop`);
    const firstShard = first.headers['x-sse-shard'];
    const seen = await publishOnce(server.url, 'hop', 'seen');
    await first.waitForEvents(1);
    first.close();
    const missed = [await publishOnce(server.url, 'hop', 'missed 1'), await publishOnce(server.url, 'hop', 'missed 2')];
    let second: RawStream | undefined;
    for (let i = 0; i < 20 && second === undefined; i++) {
      const s = await openStream(`${server.url}/events?topic=hop`, { 'last-event-id': seen });
      if (s.headers['x-sse-shard'] !== firstShard) second = s;
      else s.close();
    }
    expect(second, 'never landed on another shard').toBeDefined();
    const live = await publishOnce(server.url, 'hop', 'live');
    await second!.waitForEvents(3);
    expect(second!.events.map((e) => e.id)).toEqual([...missed, live]);
    second!.close();
  });

  it('a shard that fails is replaced; its clients reconnect and resume with nothing lost', async () => {
    server = await startServer({ SHARDS, DEBUG_FAULTS: '1', RETRY_MS: '50' });
    const url = server.url;
    const clients = Array.from({ length: 6 }, () => {
      const es = new EventSource(`${url}/events?topic=crash`);
      const ids: string[] = [];
      es.addEventListener('message', (e) => ids.push(e.lastEventId));
      return { es, ids };
    });
    await waitFor(async () => (await server!.metric('sse_connections')) === 6, 'six streams');
    const published: string[] = [];
    for (let i = 0; i < 300; i++) {
      published.push(await publishOnce(url, 'crash', `n=${i}`));
      if (i === 100 || i === 200) {
        const replaced = (server.output().match(/starting a replacement/g) ?? []).length;
        await new Promise<void>((resolve, reject) => http.request(`${url}/_debug/crash-shard`, { method: 'POST', agent: false }, (r) => r.resume().on('end', resolve)).on('error', reject).end());
        await waitFor(() => (server!.output().match(/starting a replacement/g) ?? []).length > replaced, 'a replacement shard');
        // Before the next crash: with one shard still starting, the crash could take the other and
        // leave none, and the acceptor would answer the crash request itself (503).
        await everyShardServing(url, Number(SHARDS));
      }
    }
    await waitFor(() => clients.every((c) => c.ids.length >= published.length), 'every client to catch up', 20_000);
    for (const c of clients) {
      expect(c.ids).toEqual(published);
      c.es.close();
    }
    expect(server.output()).toMatch(/shard \d+ failed: Error: fault injected/);
    expect(server.proc.exitCode).toBeNull();
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('a shard that fails while connections keep arriving is replaced, and the process lives on', async () => {
    server = await startServer({ SHARDS, DEBUG_FAULTS: '1' });
    const url = server.url;
    // New connections all the time: the acceptor is handing sockets over while the shard goes down.
    let flooding = true;
    const flood = Array.from({ length: 16 }, async () => {
      while (flooding) {
        await new Promise<void>((resolve) => http.get(`${url}/healthz`, { agent: false }, (r) => r.resume().on('end', resolve)).on('error', () => resolve()));
      }
    });
    for (let crash = 0; crash < 3; crash++) {
      await everyShardServing(url, Number(SHARDS));
      const replaced = (server.output().match(/starting a replacement/g) ?? []).length;
      await new Promise<void>((resolve) => http.request(`${url}/_debug/crash-shard`, { method: 'POST', agent: false }, (r) => r.resume().on('end', resolve)).on('error', () => resolve()).end());
      const ended = (): boolean => server!.proc.exitCode !== null || server!.proc.signalCode !== null;
      await waitFor(() => ended() || (server!.output().match(/starting a replacement/g) ?? []).length > replaced, 'a replacement shard');
      expect(ended(), server.output()).toBe(false);
    }
    flooding = false;
    await Promise.all(flood);
    await everyShardServing(url, Number(SHARDS));
    expect(server.output()).not.toMatch(/terminate called/);
  });

  it('a slow consumer on one shard does not delay the clients of another shard', async () => {
    server = await startServer({ SHARDS, MAX_BACKPRESSURE: '1048576', MAX_PUBLISH_BYTES: String(1 << 20) });
    const byShard = await streamsOnShards(`${server.url}/events?topic=mixed`, 2);
    const [[slowShard, [slow]], [, [healthy]]] = [...byShard.entries()] as [[string, RawStream[]], [string, RawStream[]]];
    slow!.pause();
    const data = 'y'.repeat(16 * 1024);
    const ids: string[] = [];
    while ((await server.metric('sse_slow_consumer_disconnects_total')) === 0) {
      expect(ids.length, 'slow consumer never detected').toBeLessThan(4_000);
      const res = await server.publishJson(Array.from({ length: 8 }, () => ({ topic: 'mixed', data })));
      ids.push(...((await res.json()) as { ids: string[] }).ids);
    }
    expect(await server.metric('sse_slow_consumer_disconnects_total', { shard: slowShard })).toBe(1);
    await healthy!.waitForEvents(ids.length, 20_000);
    expect(healthy!.events.map((e) => e.id)).toEqual(ids);
    for (const list of byShard.values()) list.forEach((s) => s.close());
  });
});
