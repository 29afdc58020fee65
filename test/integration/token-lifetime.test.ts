// A subscriber token valid for longer than one setTimeout can wait (2^31-1 ms, 24.86 days): its
// stream stays open, heartbeats arrive, nothing counts it as expired. Device tokens live for months.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
const DAY_S = 86_400;

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ JWT_SECRET, HEARTBEAT_MS: '200' });
});
afterAll(async () => {
  await server?.stop();
});

function token(expInS: number): Promise<string> {
  return new SignJWT({ topics: ['device.*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + expInS)
    .sign(new TextEncoder().encode(JWT_SECRET));
}

describe('long-lived subscriber tokens', () => {
  it.each([
    ['30 days', 30 * DAY_S],
    ['10 years', 3650 * DAY_S],
  ])('a token whose exp is %s away keeps its stream open past heartbeats', async (_what, expInS) => {
    const stream = await openStream(`${server.url}/events?topic=device.1`, { authorization: `Bearer ${await token(expInS)}` });
    try {
      expect(stream.status).toBe(200);
      // eventsource-parser reports the bare `:` heartbeat line as the empty comment
      await waitFor(() => stream.comments.filter((c) => c === '').length >= 2 || stream.closed, 'two heartbeats (or the stream ending)');
      expect(stream.closed).toBe(false);
      expect(await server.metric('sse_token_expired_closes_total')).toBe(0);
    } finally {
      stream.close();
    }
  });
});
