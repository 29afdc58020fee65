// CORS as browsers see it: an origin configured in another spelling (upper case, the default port)
// matches the Origin browsers send, and a cross-origin fetch() stream that sends its token in
// Authorization gets its preflight answered. Runs with TEST_SHARDS=0, 1 and 4.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream } from '../helpers/sse-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const A = 'https://one.example';
const B = 'https://two.example';

describe('CORS_ORIGIN written with upper case and the default port', () => {
  let server: TestServer;
  const APP = 'https://app.example';
  beforeAll(async () => {
    // the scheme's case and a trailing slash are normalised too: test/unit/config/urls.test.ts
    server = await startServer({ CORS_ORIGIN: 'https://App.Example:443' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('matches the Origin a browser sends for it (https://app.example)', async () => {
    const stream = await openStream(`${server.url}/events?topic=cors`, { origin: APP });
    stream.close();
    expect(stream.headers['access-control-allow-origin']).toBe(APP);
    const pub = await fetch(`${server.url}/publish?topic=cors`, { method: 'POST', body: 'x', headers: { origin: APP } });
    expect(pub.headers.get('access-control-allow-origin')).toBe(APP);
  });
});

describe('cross-origin streams with a token in Authorization (fetch-based clients)', () => {
  let server: TestServer;
  const SECRET = 'cors-jwt-secret-0123456789-abcdefghij';
  beforeAll(async () => {
    server = await startServer({ CORS_ORIGIN: `${A},${B}`, JWT_SECRET: SECRET });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a preflight OPTIONS /events from a listed origin answers 204 allowing GET with Authorization, Last-Event-ID, Cache-Control, Accept', async () => {
    const res = await fetch(`${server.url}/events?topic=cors`, {
      method: 'OPTIONS',
      headers: { origin: A, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization,last-event-id,cache-control,accept' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(A);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const methods = (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim());
    expect(methods).toEqual(['GET', 'HEAD']);
    const headers = (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    expect(headers).toEqual(['authorization', 'last-event-id', 'cache-control', 'accept']);
    expect(await res.text()).toBe('');
  });

  it('an unlisted origin gets no grant; other methods still 405, naming OPTIONS in Allow', async () => {
    const res = await fetch(`${server.url}/events?topic=cors`, {
      method: 'OPTIONS',
      headers: { origin: 'https://c.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect([...res.headers.keys()].filter((k) => k.startsWith('access-control-'))).toEqual([]);
    const put = await fetch(`${server.url}/events?topic=cors`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
  });

  it('the stream then opens with the token in Authorization and carries Allow-Origin', async () => {
    const token = await new SignJWT({ topics: ['cors'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));
    const stream = await openStream(`${server.url}/events?topic=cors`, { origin: B, authorization: `Bearer ${token}` });
    stream.close();
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(B);
  });
});
