// Slow consumers: bounded memory, the SLOW_CONSUMER policy, intact chunked framing under backpressure,
// and nobody else delayed. Kernel socket buffers absorb the first megabytes, so each test publishes
// until the server itself reports backpressure.
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

const EVENT_BYTES = 16 * 1024;
const PER_REQUEST = 8; // events per JSON publish: bounds what one fan-out write can carry

function payload(i: number): string {
  const head = `#${i}:`;
  return head + 'x'.repeat(EVENT_BYTES - head.length);
}

async function publishBurst(server: TestServer, topic: string, from: number): Promise<string[]> {
  const items = Array.from({ length: PER_REQUEST }, (_, k) => ({ topic, data: payload(from + k) }));
  const res = await server.publishJson(items);
  expect(res.status).toBe(202);
  return ((await res.json()) as { ids: string[] }).ids;
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('slow consumers', () => {
  it('a client that never reads is disconnected at MAX_BACKPRESSURE; its queue never passes the bound; others get every event', async () => {
    const max = 1_048_576;
    server = await startServer({ MAX_BACKPRESSURE: String(max), MAX_PUBLISH_BYTES: String(1 << 20) });
    const stuck = await openStream(`${server.url}/events?topic=flood`);
    stuck.pause();
    const healthy = await openStream(`${server.url}/events?topic=flood`);
    const ids: string[] = [];
    for (let i = 0; (await server.metric('sse_slow_consumer_disconnects_total')) === 0; i += PER_REQUEST) {
      expect(i, 'slow consumer never detected').toBeLessThan(4_000); // 64 MB
      ids.push(...(await publishBurst(server, 'flood', i)));
    }
    // A paused client cannot see the close until it reads; the server's view is what counts.
    await waitFor(async () => (await server!.metric('sse_connections')) === 1, 'the stuck stream to be closed');
    // Bounded: at most the bound plus the one write that revealed the backpressure.
    const peak = await server.metric('sse_backpressure_peak_bytes');
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(max + 2 * PER_REQUEST * (EVENT_BYTES + 64));
    await healthy.waitForEvents(ids.length, 20_000);
    expect(healthy.events.map((e) => e.id)).toEqual(ids);
    expect(healthy.events.every((e, i) => e.data === payload(i))).toBe(true);
    expect(healthy.error).toBeUndefined();
    expect(await server.metric('sse_backpressure_bytes')).toBe(0);
    healthy.close();
    stuck.close();
  });

  it('SLOW_CONSUMER=drop skips events until the client drains, then sends a reset frame and goes on live', async () => {
    server = await startServer({ SLOW_CONSUMER: 'drop', MAX_BACKPRESSURE: '262144', MAX_PUBLISH_BYTES: String(1 << 20) });
    const slow = await openStream(`${server.url}/events?topic=drop`);
    slow.pause();
    let i = 0;
    while ((await server.metric('sse_slow_consumer_dropped_events_total')) === 0) {
      expect(i, 'drop never happened').toBeLessThan(4_000);
      await publishBurst(server, 'drop', i);
      i += PER_REQUEST;
    }
    slow.resume();
    await waitFor(() => slow.events.some((e) => e.event === 'reset'), 'the reset frame', 20_000);
    const resetAt = slow.events.findIndex((e) => e.event === 'reset');
    expect(slow.events[resetAt]!.data).toBe('{"reason":"dropped"}');
    const [after] = await publishBurst(server, 'drop', i);
    await waitFor(() => slow.events.some((e) => e.id === after), 'a live event after the reset');
    // Before the reset: a gap-free prefix; nothing after the reset is older than what came before it.
    const seqs = slow.events.filter((e) => e.id !== undefined).map((e) => Number(e.id!.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(slow.error).toBeUndefined();
    expect(await server.metric('sse_connections')).toBe(1);
    slow.close();
  });

  it('chunked framing stays intact for a throttled reader under backpressure (node:http strict parser)', async () => {
    server = await startServer({ MAX_BACKPRESSURE: String(256 << 20), MAX_PUBLISH_BYTES: String(1 << 20) });
    const reader = await openStream(`${server.url}/events?topic=big`);
    reader.pause();
    const ids: string[] = [];
    // Until the server itself holds bytes for this reader (the kernel buffers are full)...
    while ((await server.metric('sse_backpressure_bytes')) === 0) {
      expect(ids.length, 'no backpressure seen').toBeLessThan(4_000);
      ids.push(...(await publishBurst(server, 'big', ids.length)));
    }
    // ...then read in short bursts while publishing more: the socket keeps filling up, the server
    // queues, and resumes from onWritable, many times over.
    let reading = false;
    const throttle = setInterval(() => {
      reading = !reading;
      if (reading) reader.resume();
      else reader.pause();
    }, 10);
    try {
      const target = ids.length + 800;
      while (ids.length < target) ids.push(...(await publishBurst(server, 'big', ids.length)));
      await reader.waitForEvents(ids.length, 60_000);
    } finally {
      clearInterval(throttle);
    }
    reader.resume();
    expect(reader.error).toBeUndefined();
    expect(reader.events.map((e) => e.id)).toEqual(ids);
    expect(reader.events.every((e, i) => e.data === payload(i))).toBe(true);
    expect(await server.metric('sse_slow_consumer_disconnects_total')).toBe(0);
    // The reader really was behind: bytes waited in the server's queue and went out from onWritable.
    expect(await server.metric('sse_backpressure_peak_bytes')).toBeGreaterThan(EVENT_BYTES);
    reader.close();
  });
});
