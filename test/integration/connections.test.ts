// Connection lifecycle: retry on connect, heartbeats on idle streams, no leak over many cycles.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

describe('connections', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ HEARTBEAT_MS: '200', RETRY_MS: '1234' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends retry: on connect and a heartbeat comment on idle streams only', async () => {
    const idle = await openStream(`${server.url}/events?topic=quiet`);
    await waitFor(() => idle.retry === 1234, 'retry: 1234');
    await waitFor(() => idle.comments.filter((c) => c === '').length >= 2, 'two heartbeats', 5_000);
    expect(idle.events).toHaveLength(0);
    expect(await server.metric('sse_heartbeats_total')).toBeGreaterThanOrEqual(2);
    idle.close();
  });

  it('1,000 connect/disconnect cycles bring the connection gauge back to zero', async () => {
    const cycle = (): Promise<void> =>
      new Promise((resolve, reject) => {
        const sock = net.connect(server.port, '127.0.0.1', () => {
          sock.write('GET /events?topic=cycle HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n');
        });
        sock.once('data', () => sock.destroy());
        sock.on('close', () => resolve());
        sock.on('error', reject);
      });
    for (let i = 0; i < 1_000; i += 50) await Promise.all(Array.from({ length: 50 }, cycle));
    await waitFor(async () => (await server.metric('sse_connections')) === 0, 'connection gauge back to 0');
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { connections: number };
    expect(health.connections).toBe(0);
    // Still serving.
    const s = await openStream(`${server.url}/events?topic=cycle`);
    const id = await server.publish('cycle', 'after the storm');
    expect((await s.waitForEvents(1))[0]!.id).toBe(id);
    s.close();
  });
});
