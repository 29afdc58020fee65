// One server's global order when shards take very different times per publish: a publish that takes
// seconds to encode on one shard while another shard keeps publishing. Every acknowledged event
// reaches the stream, once, in sequence order, with no reset: nothing is skipped for being late.
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

// Two shards at least: the slow publish and the steady one must be numbered in different threads.
const SHARDS = String(Math.max(2, Number(TEST_SHARDS)));
const seqOf = (id: string): number => Number(id.split('-')[1]);

function request(url: string, agent: http.Agent, method: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A keep-alive connection (one socket) that the acceptor handed to a shard other than `not`; and that shard. */
async function connectionOnShard(url: string, not?: number): Promise<{ agent: http.Agent; shard: number }> {
  for (let tries = 0; tries < 50; tries++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { shard } = JSON.parse((await request(`${url}/healthz`, agent, 'GET')).body) as { shard: number };
    if (shard !== not) return { agent, shard };
    agent.destroy();
  }
  throw new Error('the acceptor never handed a connection to another shard');
}

async function streamOnShard(url: string, query: string, shard: number): Promise<RawStream> {
  for (let tries = 0; tries < 50; tries++) {
    const s = await openStream(`${url}/events?${query}`);
    if (s.headers['x-sse-shard'] === String(shard)) return s;
    s.close();
  }
  throw new Error(`no stream landed on shard ${shard}`);
}

async function publish(url: string, agent: http.Agent, topic: string, data: string): Promise<string> {
  const answer = await request(`${url}/publish?topic=${topic}`, agent, 'POST', data);
  if (answer.status !== 202) throw new Error(`publish answered ${answer.status} ${answer.body}`);
  return (JSON.parse(answer.body) as { id: string }).id;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe(`sequence order across shards (SHARDS=${SHARDS})`, () => {
  it('a publish that takes seconds to encode on one shard is delivered in its place, with every event another shard published meanwhile, none skipped', async () => {
    // The big event is 56 MB on the wire: the stream must be allowed to hold it without being closed as slow.
    server = await startServer({ SHARDS, MAX_PUBLISH_BYTES: String(16 * 1024 * 1024), MAX_BACKPRESSURE: String(256 * 1024 * 1024) });
    const slow = await connectionOnShard(server.url);
    const steady = await connectionOnShard(server.url, slow.shard);
    // On the steady shard: a thread busy encoding cannot write to its own streams, whatever the order.
    const stream = await streamOnShard(server.url, 'topics=big,x', steady.shard);
    const acked: string[] = [];
    // Eight million lines: seconds of encoding, far longer than any wait for a late shard could be timed.
    let atBig = { acked: 0, delivered: 0 };
    const big = publish(server.url, slow.agent, 'big', '\n'.repeat(8_000_000)).then((id) => {
      atBig = { acked: acked.length, delivered: stream.events.length };
      acked.push(id);
      return id;
    });
    let bigDone = false;
    void big.finally(() => (bigDone = true));
    for (let after = 0; after < 5; after += bigDone ? 1 : 0) {
      acked.push(await publish(server.url, steady.agent, 'x', `x${acked.length}`));
      await new Promise((r) => setTimeout(r, 10)); // pacing the publisher, not waiting for a state
    }
    const bigId = await big;
    // The steady shard's events were not held behind the encode: most of those acknowledged during
    // it were delivered before it ended (numbers claimed before the encode would hold them all).
    expect(atBig.delivered, `${atBig.delivered} of ${atBig.acked} delivered when the big publish was acknowledged`).toBeGreaterThan(atBig.acked / 2);
    const newest = Math.max(...acked.map(seqOf));
    await waitFor(() => stream.closed || stream.events.some((e) => e.id !== undefined && seqOf(e.id) >= newest), `the newest event, ${newest}`, 120_000);
    expect(stream.closed).toBe(false);
    expect(stream.events.filter((e) => e.event === 'reset')).toEqual([]);
    const ids = stream.events.map((e) => e.id);
    expect(ids).toEqual([...acked].sort((a, b) => seqOf(a) - seqOf(b)));
    expect(ids).toContain(bigId);
    expect(server.output()).not.toMatch(/claimed but never sent/);
    slow.agent.destroy();
    steady.agent.destroy();
    stream.close();
  }, 180_000); // the encode takes 2.4 s on a quiet machine, and over 40 s with both cores busy
});
