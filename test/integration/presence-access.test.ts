// Who may see presence, in every auth mode. GET /topics lists only the topics the publisher's
// credential covers (a publisher JWT's publish patterns), and neither the page, its size nor its
// cursor tells of a hidden one. `$presence` names every topic that has subscribers, so subscribing
// to it needs the credential of an unrestricted GET /topics: nothing when publishing is open,
// PUBLISH_TOKEN, or a publisher JWT whose publish claim is `*`. Runs with TEST_SHARDS=0, 1 and 4.
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const PUBLISH_TOKEN = 'publisher-token-for-presence';
const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';

interface Page {
  topics: Array<{ topic: string; subscribers: number }>;
  next: string | null;
}

const sign = (claims: Record<string, unknown>): Promise<string> =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(new TextEncoder().encode(JWT_SECRET));
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

const streams: RawStream[] = [];
afterEach(() => {
  streams.splice(0).forEach((s) => s.close());
});

async function open(server: TestServer, query: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const s = await openStream(`${server.url}/events?${query}`, headers);
  streams.push(s);
  return s;
}

/** The status of a $presence stream request that asks for a replay of everything since the epoch began. */
async function presenceReplay(server: TestServer, headers: Record<string, string> = {}, query = ''): Promise<number> {
  const { epoch } = (await (await fetch(`${server.url}/healthz`)).json()) as { epoch: string };
  const s = await open(server, `topic=$presence&lastEventId=${epoch}-0${query}`, headers);
  s.close();
  return s.status;
}

async function listing(server: TestServer, query: string, headers: Record<string, string>): Promise<Page> {
  const res = await fetch(`${server.url}/topics?${query}`, { headers });
  expect(res.status).toBe(200);
  return (await res.json()) as Page;
}

describe('publishing open (no PUBLISH_TOKEN, no key source)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('$presence and GET /topics are open to all', async () => {
    expect(await presenceReplay(server)).toBe(200);
    expect((await fetch(`${server.url}/topics`)).status).toBe(200);
  });
});

describe('PUBLISH_TOKEN only', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ PUBLISH_TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('$presence needs PUBLISH_TOKEN, from any token source; a replay from the epoch start is no way around it', async () => {
    for (const headers of [{}, bearer('wrong-token-0123456789'), { cookie: 'sse_token=wrong-token-0123456789' }]) {
      expect(await presenceReplay(server, headers), JSON.stringify(headers)).toBe(401);
    }
    const refused = await fetch(`${server.url}/events?topic=$presence`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { code: string }).code).toBe('UNAUTHORIZED');
    expect(await presenceReplay(server, bearer(PUBLISH_TOKEN))).toBe(200);
    expect(await presenceReplay(server, { cookie: `sse_token=${PUBLISH_TOKEN}` })).toBe(200);
    expect(await presenceReplay(server, {}, `&token=${PUBLISH_TOKEN}`)).toBe(200);
  });

  it('other topics stay open, alone or beside $presence with the token', async () => {
    expect((await open(server, 'topic=orders')).status).toBe(200);
    expect((await open(server, 'topic=orders&topic=$presence', bearer(PUBLISH_TOKEN))).status).toBe(200);
    expect((await open(server, 'topic=orders&topic=$presence')).status).toBe(401);
  });
});

describe('JWT_SECRET only', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ JWT_SECRET });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('$presence needs a publisher JWT for every topic ("*"): a subscriber JWT, even for "*", or a narrower publisher JWT is 403', async () => {
    expect(await presenceReplay(server)).toBe(401);
    for (const claims of [{ topics: ['*'] }, { topics: ['$presence'] }, { publish: ['tenantA.*'] }, { publish: [] }, { topics: ['*'], publish: ['tenantA.*'] }]) {
      expect(await presenceReplay(server, bearer(await sign(claims))), JSON.stringify(claims)).toBe(403);
    }
    expect(await presenceReplay(server, bearer(await sign({ publish: ['*'] })))).toBe(200);
    expect((await open(server, 'topic=news&topic=$presence', bearer(await sign({ topics: ['news'], publish: ['*'] })))).status).toBe(200);
  });

  it("GET /topics lists only the topics the token's publish patterns cover: page, size and cursor", async () => {
    const subscriber = bearer(await sign({ topics: ['*'] }));
    for (const t of ['tenantA.x', 'tenantB.x', 'tenantB.y', 'tenantB.z']) await open(server, `topic=${t}`, subscriber);
    const everything = bearer(await sign({ publish: ['*'] }));
    await waitFor(async () => (await listing(server, 'prefix=tenant', everything)).topics.length === 4, 'four topics listed');

    const tenantA = bearer(await sign({ publish: ['tenantA.*'] }));
    expect(await listing(server, '', tenantA)).toEqual({ topics: [{ topic: 'tenantA.x', subscribers: 1 }], next: null });
    expect(await listing(server, 'limit=1', tenantA)).toEqual({ topics: [{ topic: 'tenantA.x', subscribers: 1 }], next: null });
    expect(await listing(server, 'prefix=tenantB', tenantA)).toEqual({ topics: [], next: null });
    expect(await listing(server, 'cursor=tenantA.x', tenantA)).toEqual({ topics: [], next: null });
    expect(await listing(server, '', bearer(await sign({ publish: [] })))).toEqual({ topics: [], next: null });
    // one topic of the other tenant, as before
    expect((await fetch(`${server.url}/topics/tenantB.x`, { headers: tenantA })).status).toBe(403);
    // a token without a publish claim lists nothing: 403
    expect((await fetch(`${server.url}/topics`, { headers: subscriber })).status).toBe(403);
  });
});

describe('PUBLISH_TOKEN and JWT_SECRET', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ PUBLISH_TOKEN, JWT_SECRET });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('$presence takes either credential of GET /topics: PUBLISH_TOKEN, or a publisher JWT for "*"', async () => {
    expect(await presenceReplay(server)).toBe(401);
    expect(await presenceReplay(server, bearer(await sign({ topics: ['*'] })))).toBe(403);
    expect(await presenceReplay(server, bearer(PUBLISH_TOKEN))).toBe(200);
    expect(await presenceReplay(server, bearer(await sign({ publish: ['*'] })))).toBe(200);
  });

  it('GET /topics with PUBLISH_TOKEN lists every topic', async () => {
    await open(server, 'topic=tenantC.q', bearer(await sign({ topics: ['tenantC.*'] })));
    await waitFor(async () => (await listing(server, 'prefix=tenantC', bearer(PUBLISH_TOKEN))).topics.length === 1, 'the topic listed');
  });
});
