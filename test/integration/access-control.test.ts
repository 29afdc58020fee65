// Access control against the real server, with real keys (jose: RSA, EC P-256, Ed25519) and a JWKS
// served by a real node:http server on loopback: every algorithm the keys allow and only those,
// issuer/audience/expiry, namespaced claims, 8 KiB tokens, key rotation without a restart, a JWKS
// down at start and while running, publisher JWTs, MAX_CONNECTIONS_PER_IP with and without a trusted
// proxy, and no token ever written to the server's output. Runs with TEST_SHARDS=0, 1 and 4.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { exportJWK, exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';

const ISSUER = 'https://idp.example.test/realms/test';
const AUDIENCE = 'sse-server';
const TOPICS_CLAIM = 'https://example.com/topics';
const PUBLISH_TOKEN = 'pub-token-0123456789-abcdefghij';
const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
const SHARDS = Number(TEST_SHARDS);

interface Signer {
  alg: string;
  key: CryptoKey | Uint8Array;
  kid?: string;
}

/** every token sent in this file: none may appear in any server's output */
const sentTokens: string[] = [];
const nowS = (): number => Math.floor(Date.now() / 1000);
const dir = mkdtempSync(join(tmpdir(), 'access-control-'));

interface SignOptions {
  /** claims besides the defaults (iss, aud, exp in 10 min, topics under the configured claim) */
  claims?: Record<string, unknown>;
  topics?: string[] | undefined;
  topicsClaim?: string;
  header?: Record<string, unknown>;
}

async function sign(s: Signer, opts: SignOptions = {}): Promise<string> {
  const claims: Record<string, unknown> = { iss: ISSUER, aud: AUDIENCE, exp: nowS() + 600, ...opts.claims };
  if (opts.topics !== undefined) claims[opts.topicsClaim ?? TOPICS_CLAIM] = opts.topics;
  for (const [k, v] of Object.entries(claims)) if (v === undefined) delete claims[k];
  const header = { alg: s.alg, ...(s.kid ? { kid: s.kid } : {}), ...opts.header };
  const token = await new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(s.key);
  sentTokens.push(token);
  return token;
}

/** An unsigned or hand-made token, recorded like the others. */
function raw(header: object, payload: object, signature = ''): string {
  const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const token = `${b64(header)}.${b64(payload)}.${signature}`;
  sentTokens.push(token);
  return token;
}

/** A token of exactly `length` bytes (a padding claim grows it). */
async function tokenOfLength(s: Signer, length: number, opts: SignOptions): Promise<string> {
  let pad = '';
  for (let i = 0; i < 10_000; i++) {
    const t = await sign(s, { ...opts, claims: { ...opts.claims, pad } });
    if (t.length === length) return t;
    const missing = length - t.length;
    pad = missing > 4 ? pad + 'x'.repeat(Math.floor((missing * 3) / 4)) : missing > 0 ? `${pad}x` : pad.slice(0, -1);
  }
  throw new Error(`no token of ${length} bytes`);
}

async function expectError(res: Response, status: number, code: string): Promise<void> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(JSON.parse(text)).toEqual({ error: expect.any(String), code });
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

function events(server: TestServer, query: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/events?${query}`, { headers: { accept: 'text/event-stream', ...headers } });
}

function publish(server: TestServer, topic: string, data: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/publish?topic=${topic}`, { method: 'POST', body: data, headers });
}

function publishJson(server: TestServer, items: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/publish`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json', ...headers } });
}

/** Opens a stream, checks 200, publishes with PUBLISH_TOKEN and sees the event arrive: really live. */
async function expectLive(server: TestServer, topic: string, headers: Record<string, string>, query = ''): Promise<void> {
  const stream = await openStream(`${server.url}/events?topic=${topic}${query}`, headers);
  try {
    expect(stream.status).toBe(200);
    const data = `live ${Math.random()}`;
    const res = await publish(server, topic, data, bearer(PUBLISH_TOKEN));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const got = await stream.waitForEvents(1);
    expect(got.at(-1)).toMatchObject({ id, data });
  } finally {
    stream.close();
  }
}

/** A stream shed with retry-and-close: 200, text/event-stream, only a retry field, ended. */
async function expectRetryOnly(stream: RawStream): Promise<void> {
  await stream.ended;
  expect(stream.status).toBe(200);
  expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
  expect(stream.events).toEqual([]);
  expect(stream.comments).toEqual([]);
  expect(stream.retry).toBeGreaterThan(0);
}

async function expect503(res: Response, code: string): Promise<void> {
  expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  await expectError(res, 503, code);
}

function expectNoTokenIn(server: TestServer): void {
  const out = server.output();
  expect(out).toContain('listening on');
  for (const token of [...sentTokens, PUBLISH_TOKEN, JWT_SECRET]) {
    expect(out.includes(token), `server output contains ${token.slice(0, 12)}...`).toBe(false);
    const sig = token.split('.')[2];
    if (sig) expect(out.includes(sig), 'server output contains a token signature').toBe(false);
  }
}

async function publicJwk(key: CryptoKey, kid: string, extra: Record<string, unknown> = {}): Promise<JWK> {
  return { ...(await exportJWK(key)), kid, use: 'sig', ...extra };
}

// Keys, as an identity provider would hold them
let rsa: { publicKey: CryptoKey; privateKey: CryptoKey };
let rsaPss: CryptoKey;
let ec: { publicKey: CryptoKey; privateKey: CryptoKey };
let ed: { publicKey: CryptoKey; privateKey: CryptoKey };
let rsaPem: string;
let rsaPemFile: string;

beforeAll(async () => {
  rsa = await generateKeyPair('RS256', { extractable: true });
  rsaPss = await importPKCS8(await exportPKCS8(rsa.privateKey), 'PS256');
  ec = await generateKeyPair('ES256', { extractable: true });
  ed = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  rsaPem = await exportSPKI(rsa.publicKey);
  rsaPemFile = join(dir, 'idp-rsa.pub.pem');
  writeFileSync(rsaPemFile, rsaPem);
});

describe('several key sources at once: JWT_SECRET, JWT_PUBLIC_KEY_FILE (RSA), JWKS_URL (EC P-256, Ed25519)', () => {
  let server: TestServer;
  let jwks: JwksServer;
  const RS256 = (): Signer => ({ alg: 'RS256', key: rsa.privateKey });
  const ES256 = (): Signer => ({ alg: 'ES256', key: ec.privateKey, kid: 'ec-1' });
  const EDDSA = (): Signer => ({ alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' });
  const HS256 = (): Signer => ({ alg: 'HS256', key: new TextEncoder().encode(JWT_SECRET) });

  beforeAll(async () => {
    jwks = await startJwksServer([await publicJwk(ec.publicKey, 'ec-1', { alg: 'ES256' }), await publicJwk(ed.publicKey, 'ed-1')]);
    server = await startServer({
      JWT_SECRET,
      JWT_PUBLIC_KEY_FILE: rsaPemFile,
      JWKS_URL: jwks.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_TOPICS_CLAIM: TOPICS_CLAIM,
      PUBLISH_TOKEN,
    });
  });
  afterAll(async () => {
    await server?.stop();
    await jwks?.close();
  });

  it('the JWKS is fetched once per process, not once per shard', async () => {
    expect(jwks.requests).toBe(1);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });

  it.each([
    ['RS256 (key file)', () => RS256()],
    ['PS256 (key file)', () => ({ alg: 'PS256', key: rsaPss })],
    ['ES256 (JWKS, P-256)', () => ES256()],
    ['EdDSA (JWKS, Ed25519)', () => EDDSA()],
    ['HS256 (JWT_SECRET)', () => HS256()],
  ])('accepts %s and the stream is live', async (_what, signer) => {
    const token = await sign(signer(), { topics: ['news.*'] });
    await expectLive(server, 'news.eu', bearer(token));
  });

  it('alg confusion: HS256 signed with the RSA public key (or a JWKS key) as HMAC secret is refused', async () => {
    const withPem = await sign({ alg: 'HS256', key: new TextEncoder().encode(rsaPem) }, { topics: ['*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(withPem)), 401, 'UNAUTHORIZED');
    const jwkText = JSON.stringify(await exportJWK(ec.publicKey));
    const withJwk = await sign({ alg: 'HS256', key: new TextEncoder().encode(jwkText), kid: 'ec-1' }, { topics: ['*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(withJwk)), 401, 'UNAUTHORIZED');
    // HS256 is only ever checked against JWT_SECRET
    await waitFor(() => (server.output().match(/auth: 401 GET \/events: bad signature \(tried JWT_SECRET\)/g) ?? []).length >= 2, 'the log to say why');
  });

  it('alg none is refused', async () => {
    const unsigned = raw({ alg: 'none', typ: 'JWT' }, { iss: ISSUER, aud: AUDIENCE, [TOPICS_CLAIM]: ['*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(unsigned)), 401, 'UNAUTHORIZED');
    await waitFor(() => server.output().includes('auth: 401 GET /events: alg "none" not allowed'), 'the log to say why');
  });

  it('an algorithm the named key does not have is refused: ES384 under the P-256 kid', async () => {
    const es384 = await generateKeyPair('ES384');
    const token = await sign({ alg: 'ES384', key: es384.privateKey, kid: 'ec-1' }, { topics: ['*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(token)), 401, 'UNAUTHORIZED');
    await waitFor(() => server.output().includes('auth: 401 GET /events: alg ES384 not allowed for kid "ec-1" (ES256)'), 'the log to say why');
  });

  it('wrong issuer and wrong audience are refused, and the log says which', async () => {
    const wrongIss = await sign(EDDSA(), { topics: ['*'], claims: { iss: 'https://evil.example.test/' } });
    await expectError(await events(server, 'topic=news.eu', bearer(wrongIss)), 401, 'UNAUTHORIZED');
    const noIss = await sign(EDDSA(), { topics: ['*'], claims: { iss: undefined } });
    await expectError(await events(server, 'topic=news.eu', bearer(noIss)), 401, 'UNAUTHORIZED');
    const wrongAud = await sign(RS256(), { topics: ['*'], claims: { aud: ['another-app'] } });
    await expectError(await events(server, 'topic=news.eu', bearer(wrongAud)), 401, 'UNAUTHORIZED');
    // aud may be an array that contains ours
    await expectLive(server, 'news.eu', bearer(await sign(RS256(), { topics: ['*'], claims: { aud: ['another-app', AUDIENCE] } })));
    const out = (): string => server.output();
    await waitFor(() => out().includes('wrong issuer (iss "https://evil.example.test/")') && out().includes('wrong audience (aud ["another-app"])'), 'the log to say why');
  });

  it('expired and not-yet-valid tokens are refused beyond JWT_CLOCK_TOLERANCE_S (5 s) and accepted within it', async () => {
    const expired = await sign(ES256(), { topics: ['*'], claims: { exp: nowS() - 30 } });
    await expectError(await events(server, 'topic=news.eu', bearer(expired)), 401, 'UNAUTHORIZED');
    const early = await sign(ES256(), { topics: ['*'], claims: { nbf: nowS() + 60 } });
    await expectError(await events(server, 'topic=news.eu', bearer(early)), 401, 'UNAUTHORIZED');
    // 3 s in the future is within the tolerance: the stream opens and is live
    await expectLive(server, 'news.eu', bearer(await sign(ES256(), { topics: ['*'], claims: { nbf: nowS() + 3 } })));
    // expired 2 s ago is within the tolerance: admitted, and ended at once (the stream ends at exp)
    const late = await openStream(`${server.url}/events?topic=news.eu`, bearer(await sign(ES256(), { topics: ['*'], claims: { exp: nowS() - 2 } })));
    expect(late.status).toBe(200);
    await late.ended;
    await waitFor(() => server.output().includes('auth: 401 GET /events: expired') && /auth: 401 GET \/events: not yet valid \(nbf \d+\)/.test(server.output()), 'the log to say why');
  });

  it('the topics claim is read under its configured (namespaced) name only', async () => {
    const plain = await sign(EDDSA(), { topics: ['*'], topicsClaim: 'topics' });
    await expectError(await events(server, 'topic=news.eu', bearer(plain)), 401, 'UNAUTHORIZED');
    const narrow = await sign(EDDSA(), { topics: ['sports.*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(narrow)), 403, 'FORBIDDEN');
    await waitFor(() => server.output().includes(`token has no ${JSON.stringify(TOPICS_CLAIM)} claim`) && server.output().includes('token does not allow topic news.eu'), 'the log to say why');
  });

  it('an unknown kid is refused and the log names it', async () => {
    const other = await generateKeyPair('ES256');
    const token = await sign({ alg: 'ES256', key: other.privateKey, kid: 'nobody' }, { topics: ['*'] });
    await expectError(await events(server, 'topic=news.eu', bearer(token)), 401, 'UNAUTHORIZED');
    await waitFor(() => server.output().includes('auth: 401 GET /events: unknown kid "nobody"'), 'the log to say why');
  });

  describe('tokens up to 8 KiB work wherever a token is read; longer ones get 401', () => {
    const places: Array<[string, (t: string) => { headers: Record<string, string>; query: string }]> = [
      ['Authorization header', (t) => ({ headers: bearer(t), query: '' })],
      ['sse_token cookie', (t) => ({ headers: { cookie: `theme=dark; sse_token=${t}; other=1` }, query: '' })],
      ['?token=', (t) => ({ headers: {}, query: `&token=${t}` })],
    ];

    it.each(places)('an 8192-byte token in the %s opens a live stream', async (_where, place) => {
      const token = await tokenOfLength(EDDSA(), 8192, { topics: ['news.*'] });
      expect(token.length).toBe(8192);
      const { headers, query } = place(token);
      await expectLive(server, 'news.eu', headers, query);
    });

    it.each(places)('an 8193-byte and a 12 KiB token in the %s get 401 JSON (not 431)', async (_where, place) => {
      for (const length of [8193, 12_288]) {
        const { headers, query } = place(await tokenOfLength(EDDSA(), length, { topics: ['news.*'] }));
        await expectError(await events(server, `topic=news.eu${query}`, headers), 401, 'UNAUTHORIZED');
      }
      await waitFor(() => server.output().includes('too long (12288 bytes, at most 8192)'), 'the log to say why');
    });

    it('a 8 KiB token in a publish Authorization header works too', async () => {
      const token = await tokenOfLength(EDDSA(), 8192, { claims: { publish: ['news.*'] } });
      const res = await publish(server, 'news.eu', 'x', bearer(token));
      expect(res.status).toBe(202);
    });

    it('beyond UWS_HTTP_MAX_HEADERS_SIZE (16 KiB) uWS itself answers 431', async () => {
      const res = await events(server, 'topic=news.eu', { authorization: `Bearer ${'x'.repeat(20_000)}` });
      expect(res.status).toBe(431);
      await res.text();
    });
  });

  describe('publisher JWTs (JWT_PUBLISH_CLAIM, default "publish")', () => {
    const publisher = (patterns: string[], s: Signer = RS256(), claims: Record<string, unknown> = {}): Promise<string> =>
      sign(s, { claims: { publish: patterns, ...claims } });

    it('a JWT whose publish patterns cover the topic publishes; PUBLISH_TOKEN still does', async () => {
      const token = await publisher(['orders.*']);
      const res = await publish(server, 'orders.eu', 'from a JWT', bearer(token));
      expect(res.status).toBe(202);
      expect(await res.json()).toEqual({ id: expect.any(String) });
      expect((await publish(server, 'orders.eu', 'from the token', bearer(PUBLISH_TOKEN))).status).toBe(202);
      // any key source: an EdDSA token from the JWKS, an HS256 one from the secret
      expect((await publish(server, 'orders.eu', 'x', bearer(await publisher(['*'], EDDSA())))).status).toBe(202);
      expect((await publish(server, 'orders.eu', 'x', bearer(await publisher(['orders.eu'], HS256())))).status).toBe(202);
    });

    it('a topic not covered is 403; a token without the claim is 403; a bad or expired one 401; none 401', async () => {
      const before = await server.metric('sse_events_published_total');
      await expectError(await publish(server, 'payments', 'x', bearer(await publisher(['orders.*']))), 403, 'FORBIDDEN');
      await expectError(await publish(server, 'orders.eu', 'x', bearer(await sign(RS256(), { topics: ['*'] }))), 403, 'FORBIDDEN');
      await expectError(await publish(server, 'orders.eu', 'x', bearer(await publisher(['*'], RS256(), { exp: nowS() - 60 }))), 401, 'UNAUTHORIZED');
      const other = await generateKeyPair('ES256');
      await expectError(await publish(server, 'orders.eu', 'x', bearer(await publisher(['*'], { alg: 'ES256', key: other.privateKey, kid: 'ec-1' }))), 401, 'UNAUTHORIZED');
      await expectError(await publish(server, 'orders.eu', 'x'), 401, 'UNAUTHORIZED');
      expect(await server.metric('sse_events_published_total')).toBe(before);
      await waitFor(() => server.output().includes('auth: 403 POST /publish: token does not allow publishing to payments'), 'the log to say why');
    });

    it('a JSON batch with one topic not covered is 403 and publishes nothing; a covered batch publishes all', async () => {
      const stream = await openStream(`${server.url}/events?topics=orders.eu,payments`, bearer(await sign(HS256(), { topics: ['*'] })));
      try {
        expect(stream.status).toBe(200);
        const token = await publisher(['orders.*']);
        const before = await server.metric('sse_events_published_total');
        const mixed = [
          { topic: 'orders.eu', data: 'first' },
          { topic: 'payments', data: 'not allowed' },
          { topic: 'orders.us', data: 'third' },
        ];
        await expectError(await publishJson(server, mixed, bearer(token)), 403, 'FORBIDDEN');
        expect(await server.metric('sse_events_published_total')).toBe(before);
        const ok = await publishJson(server, [{ topic: 'orders.eu', data: 'a' }, { topic: 'orders.us', data: 'b' }], bearer(token));
        expect(ok.status).toBe(202);
        const { ids } = (await ok.json()) as { ids: string[] };
        expect(ids).toHaveLength(2);
        // the subscriber saw the covered batch's first event and nothing of the refused batch
        const got = await stream.waitForEvents(1);
        expect(got.map((e) => e.data)).toEqual(['a']);
        expect(await server.metric('sse_events_published_total')).toBe(before + 2);
      } finally {
        stream.close();
      }
    });
  });

  it('closes an RS256 stream at the token exp', async () => {
    const exp = nowS() + 3;
    const token = await sign(RS256(), { topics: ['news.*'], claims: { exp } });
    const stream = await openStream(`${server.url}/events?topic=news.eu`, bearer(token));
    expect(stream.status).toBe(200);
    await stream.ended;
    const endedAt = Date.now();
    expect(endedAt).toBeGreaterThanOrEqual(exp * 1000 - 50);
    expect(endedAt).toBeLessThan(exp * 1000 + 2_000);
  }, 15_000);

  it('no token, no signature and no secret appears in the server output', () => {
    expect(sentTokens.length).toBeGreaterThan(30);
    expectNoTokenIn(server);
  });
});

describe('key rotation at the provider, without a restart', () => {
  describe('a new kid (JWKS_CACHE_S=300): one refetch, at most one per 10 s', () => {
    let server: TestServer;
    let jwks: JwksServer;
    let k2: { publicKey: CryptoKey; privateKey: CryptoKey };
    let k3: { publicKey: CryptoKey; privateKey: CryptoKey };

    beforeAll(async () => {
      k2 = await generateKeyPair('ES256', { extractable: true });
      k3 = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      jwks = await startJwksServer([await publicJwk(rsa.publicKey, 'k1', { alg: 'RS256' })]);
      server = await startServer({ JWKS_URL: jwks.url, JWT_TOPICS_CLAIM: TOPICS_CLAIM, PUBLISH_TOKEN });
    });
    afterAll(async () => {
      await server?.stop();
      await jwks?.close();
      expectNoTokenIn(server);
    });

    it('a kid added at the provider is accepted after one refetch; the next new kid within 10 s is not', async () => {
      expect(jwks.requests).toBe(1); // once per process, whatever SHARDS
      await expectLive(server, 'r', bearer(await sign({ alg: 'RS256', key: rsa.privateKey, kid: 'k1' }, { topics: ['r'] })));
      expect(jwks.requests).toBe(1);

      jwks.setKeys([await publicJwk(rsa.publicKey, 'k1', { alg: 'RS256' }), await publicJwk(k2.publicKey, 'k2')]);
      await expectLive(server, 'r', bearer(await sign({ alg: 'ES256', key: k2.privateKey, kid: 'k2' }, { topics: ['r'] })));
      expect(jwks.requests).toBe(2);

      // a token naming k2 again needs no request
      await expectLive(server, 'r', bearer(await sign({ alg: 'ES256', key: k2.privateKey, kid: 'k2' }, { topics: ['r'] })));
      expect(jwks.requests).toBe(2);

      // k3 appears right after: an unknown kid within 10 s of the last refetch does not fetch again
      jwks.setKeys([await publicJwk(rsa.publicKey, 'k1'), await publicJwk(k2.publicKey, 'k2'), await publicJwk(k3.publicKey, 'k3')]);
      const early = await sign({ alg: 'EdDSA', key: k3.privateKey, kid: 'k3' }, { topics: ['r'] });
      await expectError(await events(server, 'topic=r', bearer(early)), 401, 'UNAUTHORIZED');
      await expectError(await events(server, 'topic=r', bearer(early)), 401, 'UNAUTHORIZED');
      expect(jwks.requests).toBe(2);
      await waitFor(() => server.output().includes('auth: 401 GET /events: unknown kid "k3"'), 'the log to say why');
    });

    it('with a key source configured and no PUBLISH_TOKEN match, publishing needs a publisher JWT', async () => {
      await expectError(await publish(server, 'r', 'x'), 401, 'UNAUTHORIZED');
      const token = await sign({ alg: 'RS256', key: rsa.privateKey, kid: 'k1' }, { claims: { publish: ['r'] } });
      expect((await publish(server, 'r', 'x', bearer(token))).status).toBe(202);
    });
  });

  describe('a removed key (JWKS_CACHE_S=1)', () => {
    let server: TestServer;
    let jwks: JwksServer;
    let keep: { publicKey: CryptoKey; privateKey: CryptoKey };

    beforeAll(async () => {
      keep = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
      jwks = await startJwksServer([await publicJwk(ec.publicKey, 'old'), await publicJwk(keep.publicKey, 'keep')]);
      server = await startServer({ JWKS_URL: jwks.url, JWKS_CACHE_S: '1', PUBLISH_TOKEN });
    });
    afterAll(async () => {
      await server?.stop();
      await jwks?.close();
      expectNoTokenIn(server);
    });

    it('stops working once the cache time has passed; the other keys go on', async () => {
      const old = await sign({ alg: 'ES256', key: ec.privateKey, kid: 'old' }, { topics: ['r'], topicsClaim: 'topics' });
      const kept = await sign({ alg: 'EdDSA', key: keep.privateKey, kid: 'keep' }, { topics: ['r'], topicsClaim: 'topics' });
      await expectLive(server, 'r', bearer(old));
      jwks.setKeys([await publicJwk(keep.publicKey, 'keep')]);
      const removedAt = Date.now();
      await waitFor(async () => (await events(server, 'topic=r', bearer(old))).status === 401, 'the removed key to stop working', 5_000);
      expect(Date.now() - removedAt).toBeLessThan(4_000);
      await expectLive(server, 'r', bearer(kept));
      expect(server.output()).toMatch(/JWKS http:\/\/127\.0\.0\.1:\d+\/realms\/test\/protocol\/openid-connect\/certs: 1 key\(s\) in force: keep/);
    });
  });
});

describe('JWKS down at start, then up, then down while running', () => {
  let server: TestServer;
  let jwks: JwksServer;
  let signer: Signer;
  const RETRY_MS = 100;

  beforeAll(async () => {
    signer = { alg: 'ES256', key: ec.privateKey, kid: 'ec-1' };
    jwks = await startJwksServer([await publicJwk(ec.publicKey, 'ec-1')], { listening: false });
    server = await startServer({ JWKS_URL: jwks.url, JWKS_CACHE_S: '1', RETRY_MS: String(RETRY_MS), PUBLISH_TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
    await jwks?.close();
    expectNoTokenIn(server);
  });

  it('while never reached: /healthz degraded with the reason, EventSource shed with retry, others 503, garbage still 401', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'degraded', problem: expect.stringMatching(/^JWKS not loaded yet: fetch failed: ECONNREFUSED/) });

    const token = await sign(signer, { topics: ['t'], topicsClaim: 'topics' });
    await expectRetryOnly(await openStream(`${server.url}/events?topic=t`, bearer(token)));
    await expectRetryOnly(await openStream(`${server.url}/events?topic=t&token=${token}`));
    await expect503(await fetch(`${server.url}/events?topic=t`, { headers: { accept: 'application/json', ...bearer(token) } }), 'KEYS_UNAVAILABLE');
    const publisher = await sign(signer, { claims: { publish: ['t'] } });
    await expect503(await publish(server, 't', 'x', bearer(publisher)), 'KEYS_UNAVAILABLE');
    // what no key could ever verify is refused at once
    await expectError(await events(server, 'topic=t', bearer('not-a-jwt')), 401, 'UNAUTHORIZED');
    await expectError(await events(server, 'topic=t'), 401, 'UNAUTHORIZED');
  });

  it('a browser-like EventSource keeps coming back and gets through once the JWKS is up', async () => {
    const token = await sign(signer, { topics: ['t'], topicsClaim: 'topics' });
    const es = new EventSource(`${server.url}/events?topic=t&token=${token}`);
    const received: string[] = [];
    let errors = 0;
    es.addEventListener('message', (e) => received.push(e.data));
    es.addEventListener('error', () => errors++);
    try {
      await waitFor(() => errors >= 2, 'the EventSource to be shed and retry twice');
      expect(es.readyState).not.toBe(EventSource.CLOSED);
      await jwks.up();
      await waitFor(async () => ((await (await fetch(`${server.url}/healthz`)).json()) as { status: string }).status === 'ok', '/healthz ok once the JWKS is reached', 10_000);
      await waitFor(() => es.readyState === EventSource.OPEN, 'the EventSource to open', 10_000);
      await waitFor(async () => (await server.metric('sse_connections')) === 1, 'its stream registered');
      expect((await publish(server, 't', 'through', bearer(PUBLISH_TOKEN))).status).toBe(202);
      await waitFor(() => received.includes('through'), 'the event');
    } finally {
      es.close();
    }
    await waitFor(() => server.output().includes('key(s) in force: ec-1'), 'the log to say the keys loaded');
  }, 30_000);

  it('while running: the provider goes away, the cached keys keep working and /healthz stays ok', async () => {
    await jwks.down();
    const failuresBefore = (server.output().match(/unreachable/g) ?? []).length;
    await waitFor(() => (server.output().match(/unreachable \(fetch failed: ECONNREFUSED\): the 1 cached key\(s\) stay in force/g) ?? []).length > failuresBefore, 'a failed refresh', 5_000);
    await expectLive(server, 't', bearer(await sign(signer, { topics: ['t'], topicsClaim: 'topics' })));
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { status: string };
    expect(health.status).toBe('ok');
  });
});

describe('MAX_CONNECTIONS_PER_IP', () => {
  /** Opens a stream as a raw client that sends X-Forwarded-For itself. */
  const from = (server: TestServer, forwardedFor?: string): Promise<RawStream> =>
    openStream(`${server.url}/events?topic=ip`, forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor });

  describe('without TRUST_PROXY: counted per peer, X-Forwarded-For ignored', () => {
    let server: TestServer;
    const open: RawStream[] = [];
    beforeAll(async () => {
      server = await startServer({ MAX_CONNECTIONS_PER_IP: '3', RETRY_MS: '100' });
    });
    afterAll(async () => {
      for (const s of open) s.close();
      await server?.stop();
    });

    it('the fourth stream from 127.0.0.1 is shed (EventSource: retry and close; others 503), across shards', async () => {
      for (const xff of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) open.push(await from(server, xff));
      for (const s of open) expect(s.status).toBe(200);
      if (SHARDS > 1) expect(new Set(open.map((s) => s.headers['x-sse-shard'])).size).toBeGreaterThan(1);
      await waitFor(async () => (await server.metric('sse_connections')) === 3, 'three streams');

      await expectRetryOnly(await from(server, '203.0.113.4'));
      await expectRetryOnly(await from(server));
      await expect503(await fetch(`${server.url}/events?topic=ip`, { headers: { accept: '*/*', 'x-forwarded-for': '198.51.100.1' } }), 'TOO_MANY_CONNECTIONS_PER_IP');
      expect(await server.metric('sse_connections')).toBe(3);
      expect(await server.metric('sse_shed_connections_total')).toBe(3);

      // a stream that ends gives its place back
      open.shift()!.close();
      await waitFor(async () => (await server.metric('sse_connections')) === 2, 'the closed stream to be released');
      const again = await from(server);
      open.push(again);
      expect(again.status).toBe(200);
      expect(again.closed).toBe(false);
    });

    it('with no key source and no PUBLISH_TOKEN publishing stays open', async () => {
      expect((await publish(server, 'ip', 'open')).status).toBe(202);
    });
  });

  describe('with TRUST_PROXY=127.0.0.1: counted per forwarded client address', () => {
    let server: TestServer;
    const open: RawStream[] = [];
    beforeAll(async () => {
      server = await startServer({ MAX_CONNECTIONS_PER_IP: '2', TRUST_PROXY: '127.0.0.1', RETRY_MS: '100' });
    });
    afterAll(async () => {
      for (const s of open) s.close();
      await server?.stop();
    });

    it('each forwarded address has its own limit, across shards; a forged left part changes nothing', async () => {
      const A = '203.0.113.7';
      const B = '2001:db8:1:2::7';
      for (const xff of [A, A, B, `${B.replace('::7', '::8')}`]) open.push(await from(server, xff));
      for (const s of open) expect(s.status).toBe(200);
      await waitFor(async () => (await server.metric('sse_connections')) === 4, 'four streams');
      if (SHARDS > 1) expect(new Set(open.slice(0, 2).map((s) => s.headers['x-sse-shard'])).size).toBe(2);

      // A is full, whichever shard the third lands on; so is B's /64
      await expectRetryOnly(await from(server, A));
      await expectRetryOnly(await from(server, `${B.replace('::7', '::9')}`));
      // the client wrote "1.1.1.1" itself; the proxy appended A: it is still A
      await expectRetryOnly(await from(server, `1.1.1.1, ${A}`));
      // the proxy's own address and another client are not affected
      for (const xff of [undefined, '198.51.100.20', `${A}, 198.51.100.21`]) {
        const s = await from(server, xff);
        open.push(s);
        expect(s.status).toBe(200);
        expect(s.closed).toBe(false);
      }
      await waitFor(async () => (await server.metric('sse_connections')) === 7, 'seven streams');
      expect(await server.metric('sse_shed_connections_total')).toBe(3);
    });
  });
});

// A shard to fail needs worker shards: at least 2 (the other keeps serving), whatever the suite's SHARDS.
describe('MAX_CONNECTIONS_PER_IP when a shard fails', () => {
  let server: TestServer;
  const open: RawStream[] = [];
  beforeAll(async () => {
    server = await startServer({ SHARDS: String(Math.max(2, SHARDS)), MAX_CONNECTIONS_PER_IP: '2', DEBUG_FAULTS: '1', RETRY_MS: '100' });
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await server?.stop();
  });

  it('the streams of a failed shard give their places back', async () => {
    for (let i = 0; i < 2; i++) open.push(await openStream(`${server.url}/events?topic=crash`));
    await waitFor(async () => (await server.metric('sse_connections')) === 2, 'two streams');
    await expectRetryOnly(await openStream(`${server.url}/events?topic=crash`));
    // crash shards until one of the two streams has gone with its shard
    for (let i = 0; i < 8 && open.every((s) => !s.closed); i++) {
      const replaced = (server.output().match(/starting a replacement/g) ?? []).length;
      await fetch(`${server.url}/_debug/crash-shard`, { method: 'POST' });
      await waitFor(() => (server.output().match(/starting a replacement/g) ?? []).length > replaced, 'a replacement shard');
    }
    const alive = open.filter((s) => !s.closed).length;
    expect(alive).toBeLessThan(2);
    await waitFor(async () => (await server.metric('sse_connections')) === alive, 'the failed shard to give its streams back');
    // the acceptor sheds while it has no shard: wait for the replacement to take requests
    await waitFor(async () => (await fetch(`${server.url}/healthz`)).status === 200, 'a shard to answer');
    for (let i = alive; i < 2; i++) {
      const s = await openStream(`${server.url}/events?topic=crash`);
      open.push(s);
      expect(s.status).toBe(200);
      expect(s.closed).toBe(false);
    }
    await expectRetryOnly(await openStream(`${server.url}/events?topic=crash`));
  });
});
