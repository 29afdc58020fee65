// Publisher token (PUBLISH_TOKEN) and subscriber JWTs (JWT_SECRET, HS256, `topics` claim with `*`):
// 401 without or with a bad token, 403 for a topic the token does not cover, the three places a
// token may come from, the stream closed at `exp`, and no token ever written to the server's output.
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const PUBLISH_TOKEN = 'pub-token-0123456789-abcdefghij';
const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
const OTHER_SECRET = 'another-secret-entirely-0123456789-abcdefghijkl';
const key = (secret: string): Uint8Array => new TextEncoder().encode(secret);

let server: TestServer;
/** every token sent during the file: none may appear in the server's output */
const sentTokens: string[] = [PUBLISH_TOKEN];

async function sign(claims: Record<string, unknown>, opts: { secret?: string; exp?: number } = {}): Promise<string> {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (opts.exp !== undefined) jwt = jwt.setExpirationTime(opts.exp);
  const token = await jwt.sign(key(opts.secret ?? JWT_SECRET));
  sentTokens.push(token);
  return token;
}

const nowS = (): number => Math.floor(Date.now() / 1000);

async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(JSON.parse(text)).toEqual({ error: expect.any(String), code });
}

function publish(topic: string, data: string, authorization?: string): Promise<Response> {
  return fetch(`${server.url}/publish?topic=${topic}`, {
    method: 'POST',
    body: data,
    headers: authorization === undefined ? {} : { authorization },
  });
}

/** Publishes with the right token and checks the stream receives it: the stream is really live. */
async function expectLive(stream: RawStream, topic: string): Promise<void> {
  const data = `live ${Math.random()}`;
  const before = stream.events.length; // counted first: the event may arrive before the 202 does
  const res = await publish(topic, data, `Bearer ${PUBLISH_TOKEN}`);
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as { id: string };
  const events = await stream.waitForEvents(before + 1);
  expect(events.at(-1)).toMatchObject({ id, data });
}

function events(query: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/events?${query}`, { headers: { accept: 'text/event-stream', ...headers } });
}

beforeAll(async () => {
  server = await startServer({ PUBLISH_TOKEN, JWT_SECRET });
});

afterAll(async () => {
  await server?.stop();
});

describe('PUBLISH_TOKEN', () => {
  it.each([
    ['no Authorization', undefined],
    ['a wrong token', 'Bearer wrong'],
    ['a wrong token of the same length', `Bearer ${'x'.repeat(PUBLISH_TOKEN.length)}`],
    ['a prefix of the token', `Bearer ${PUBLISH_TOKEN.slice(0, -1)}`],
    ['the token with a suffix', `Bearer ${PUBLISH_TOKEN}x`],
    ['the token without the Bearer scheme', PUBLISH_TOKEN],
    ['the token as Basic', `Basic ${PUBLISH_TOKEN}`],
  ])('refuses %s with 401 and publishes nothing', async (_what, authorization) => {
    const before = await server.metric('sse_events_published_total');
    await expectError(await publish('pub', 'nope', authorization), 401, 'UNAUTHORIZED');
    expect(await server.metric('sse_events_published_total')).toBe(before);
  });

  it('refuses a JSON publish without the token too', async () => {
    await expectError(await server.publishJson({ topic: 'pub', data: 'nope' }), 401, 'UNAUTHORIZED');
  });

  it('accepts the right token with 202 and an id', async () => {
    const before = await server.metric('sse_events_published_total');
    const res = await publish('pub', 'yes', `Bearer ${PUBLISH_TOKEN}`);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ id: expect.stringMatching(/^[A-Za-z0-9._~:-]{1,128}$/) });
    // counted in the main thread when the shard's run reaches it, after the 202 (SHARDS >= 1): wait for it
    await waitFor(async () => (await server.metric('sse_events_published_total')) === before + 1, 'the publish to be counted');
  });
});

describe('JWT_SECRET: refusals', () => {
  it('refuses a stream without a token with 401', async () => {
    await expectError(await events('topic=news.eu'), 401, 'UNAUTHORIZED');
  });

  it('refuses a token signed with another secret with 401', async () => {
    const token = await sign({ topics: ['news.eu'] }, { secret: OTHER_SECRET });
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${token}` }), 401, 'UNAUTHORIZED');
  });

  it('refuses a token whose payload was altered after signing with 401', async () => {
    const token = await sign({ topics: ['news.eu'] });
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ topics: ['*'] })).toString('base64url')}.${s}`;
    sentTokens.push(forged);
    await expectError(await events('topic=secret', { authorization: `Bearer ${forged}` }), 401, 'UNAUTHORIZED');
  });

  it('refuses an unsigned (alg none) token with 401', async () => {
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ topics: ['*'] })}.`;
    sentTokens.push(unsigned);
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${unsigned}` }), 401, 'UNAUTHORIZED');
  });

  it('refuses garbage and an expired token with 401', async () => {
    await expectError(await events('topic=news.eu', { authorization: 'Bearer not.a.jwt' }), 401, 'UNAUTHORIZED');
    const expired = await sign({ topics: ['news.eu'] }, { exp: nowS() - 60 });
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${expired}` }), 401, 'UNAUTHORIZED');
  });

  it('refuses a token without a topics claim with 401', async () => {
    const token = await sign({ sub: 'someone' });
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${token}` }), 401, 'UNAUTHORIZED');
  });

  it('refuses a valid token for other topics with 403', async () => {
    const token = await sign({ topics: ['sports', 'weather.*'] });
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${token}` }), 403, 'FORBIDDEN');
    // one covered topic and one not: still 403
    await expectError(await events('topic=sports&topic=news.eu', { authorization: `Bearer ${token}` }), 403, 'FORBIDDEN');
  });

  it('the publish token is not a subscriber token', async () => {
    await expectError(await events('topic=news.eu', { authorization: `Bearer ${PUBLISH_TOKEN}` }), 401, 'UNAUTHORIZED');
  });
});

describe('JWT_SECRET: wildcards and where the token comes from', () => {
  it('`news.*` allows news.eu (and streams it), but not news or sports', async () => {
    const token = await sign({ topics: ['news.*'] });
    const stream = await openStream(`${server.url}/events?topic=news.eu`, { authorization: `Bearer ${token}` });
    try {
      expect(stream.status).toBe(200);
      await expectLive(stream, 'news.eu');
    } finally {
      stream.close();
    }
    await expectError(await events('topic=news', { authorization: `Bearer ${token}` }), 403, 'FORBIDDEN');
    await expectError(await events('topic=sports', { authorization: `Bearer ${token}` }), 403, 'FORBIDDEN');
    await expectError(await events('topic=xnews.eu', { authorization: `Bearer ${token}` }), 403, 'FORBIDDEN');
  });

  it('a `*` in the middle matches any run, `.` is literal', async () => {
    const token = await sign({ topics: ['org:*:feed'] });
    const ok = await openStream(`${server.url}/events?topic=org:acme/eu:feed`, { authorization: `Bearer ${token}` });
    ok.close();
    expect(ok.status).toBe(200);
    const dot = await sign({ topics: ['a.b'] });
    await expectError(await events('topic=aXb', { authorization: `Bearer ${dot}` }), 403, 'FORBIDDEN');
  });

  it.each([
    ['the Authorization: Bearer header', (t: string) => ({ headers: { authorization: `Bearer ${t}` }, query: '' })],
    ['the sse_token cookie', (t: string) => ({ headers: { cookie: `theme=dark; sse_token=${t}; other=1` }, query: '' })],
    ['?token=', (t: string) => ({ headers: {}, query: `&token=${encodeURIComponent(t)}` })],
  ])('accepts a token from %s', async (_where, place) => {
    const token = await sign({ topics: ['news.*'] }, { exp: nowS() + 600 });
    const { headers, query } = place(token);
    const stream = await openStream(`${server.url}/events?topic=news.eu${query}`, headers);
    try {
      expect(stream.status).toBe(200);
      expect(stream.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      await expectLive(stream, 'news.eu');
    } finally {
      stream.close();
    }
    // the same place with a bad token is refused: the token is really read from there
    const bad = place(await sign({ topics: ['news.*'] }, { secret: OTHER_SECRET }));
    await expectError(await events(`topic=news.eu${bad.query}`, bad.headers), 401, 'UNAUTHORIZED');
  });
});

describe('JWT_SECRET: an empty credential is no credential', () => {
  it.each([
    ['an empty sse_token cookie hides nothing: ?token= is read', (t: string) => ({ headers: { cookie: 'sse_token=; theme=dark' }, query: `&token=${t}` })],
    ['an empty Bearer hides nothing: the cookie is read', (t: string) => ({ headers: { authorization: 'Bearer ', cookie: `sse_token=${t}` }, query: '' })],
    ['an empty Bearer and an empty cookie hide nothing: ?token= is read', (t: string) => ({ headers: { authorization: 'Bearer', cookie: 'sse_token=' }, query: `&token=${t}` })],
  ])('%s', async (_what, place) => {
    const { headers, query } = place(await sign({ topics: ['news.*'] }));
    const stream = await openStream(`${server.url}/events?topic=news.eu${query}`, headers);
    try {
      expect(stream.status).toBe(200);
      await expectLive(stream, 'news.eu');
    } finally {
      stream.close();
    }
  });

  it('empty values everywhere are refused as no token at all', async () => {
    const res = await events('topic=news.eu&token=', { authorization: 'Bearer ', cookie: 'sse_token=' });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'UNAUTHORIZED', error: expect.stringMatching(/^a subscriber token is required/) });
  });
});

describe('JWT_SECRET: expiry', () => {
  it('closes the stream at the token exp', async () => {
    const closesBefore = await server.metric('sse_token_expired_closes_total');
    expect(closesBefore).toBe(0);
    // exp is in whole seconds: at least 2 s ahead, so the stream surely opens before it
    const exp = nowS() + 3;
    const token = await sign({ topics: ['news.*'] }, { exp });
    const stream = await openStream(`${server.url}/events?topic=news.eu`, { authorization: `Bearer ${token}` });
    expect(stream.status).toBe(200);
    await expectLive(stream, 'news.eu');
    expect(stream.closed).toBe(false);

    await stream.ended;
    const endedAt = Date.now();
    expect(endedAt).toBeGreaterThanOrEqual(exp * 1000 - 50);
    expect(endedAt).toBeLessThan(exp * 1000 + 2_000);
    await waitFor(async () => (await server.metric('sse_token_expired_closes_total')) === 1, 'sse_token_expired_closes_total to become 1');
    await waitFor(async () => (await server.metric('sse_connections')) === 0, 'sse_connections to drop to 0');
  }, 15_000);
});

describe('tokens stay secret', () => {
  it('no token (nor the secrets) appears in the server output', () => {
    const out = server.output();
    expect(out).toContain('listening on');
    expect(sentTokens.length).toBeGreaterThan(10);
    for (const token of [...sentTokens, JWT_SECRET, OTHER_SECRET]) {
      expect(out.includes(token), `server output contains ${token.slice(0, 12)}...`).toBe(false);
      // nor the signature alone, which is what makes a JWT a credential
      const sig = token.split('.')[2];
      if (sig) expect(out.includes(sig)).toBe(false);
    }
  });
});
