// MAX_CONNECTIONS_PER_IP behind a trusted proxy when X-Forwarded-For comes as several header lines,
// sent over raw TCP (an HTTP client library would merge or refuse them). Every line counts, in
// order, as for any list header. Runs with TEST_SHARDS=0, 1 and 4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawOpen, type RawOpenStream } from '../helpers/raw-http.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

// HAProxy (option forwardfor) appends its own X-Forwarded-For line instead of extending the client's.
describe('MAX_CONNECTIONS_PER_IP=1 behind a proxy that appends its own X-Forwarded-For line', () => {
  let server: TestServer;
  const open: RawOpenStream[] = [];
  beforeAll(async () => {
    server = await startServer({ MAX_CONNECTIONS_PER_IP: '1', TRUST_PROXY: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await server?.stop();
  });

  /** A stream request as the proxy forwards it: the client's own lines, then the proxy's line naming the address it saw. */
  const viaProxy = async (clientLines: string[], seenByProxy: string): Promise<RawOpenStream> => {
    const forwarded = [...clientLines, seenByProxy].map((a) => `X-Forwarded-For: ${a}\r\n`).join('');
    const s = await rawOpen(server.port, `GET /events?topic=xff HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n${forwarded}\r\n`);
    open.push(s);
    return s;
  };

  it('every line counts, in order: a line the client wrote itself does not escape the limit', async () => {
    const CLIENT = '203.0.113.50';
    const first = await viaProxy(['10.0.0.1'], CLIENT);
    expect(first.status).toBe(200);
    for (let i = 2; i <= 5; i++) {
      const more = await viaProxy([`10.0.0.${i}`, `10.1.0.${i}, 10.2.0.${i}`], CLIENT);
      expect(more.status, `stream ${i} with a forged line of its own`).toBe(503);
      expect(more.head).toMatch(/retry-after: *\d+/i);
    }
    expect(await server.metric('sse_connections')).toBe(1);
  });

  it("a client's forged line does not charge the address it names", async () => {
    const VICTIM = '198.51.100.77';
    expect((await viaProxy([VICTIM], '203.0.113.60')).status).toBe(200);
    expect((await viaProxy([], VICTIM)).status).toBe(200);
    await waitFor(async () => (await server.metric('sse_connections')) === 3, 'three streams, one per client');
  });
});
