// Publisher token and subscriber JWTs, with real HS256 tokens signed by `jose` (no mocks).
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { Auth, bearer, cookie, subscriberToken, type SubscriberGrant } from '../../../src/intake/auth.js';
import { HttpError } from '../../../src/intake/errors.js';

const SECRET = 'a-test-secret-of-at-least-32-chars!';
const PUBLISH_TOKEN = 'pub-token-0123456789';
const auth = new Auth(loadConfig({ JWT_SECRET: SECRET, PUBLISH_TOKEN }));
const open = new Auth(loadConfig({}));
const now = (): number => Math.floor(Date.now() / 1000);

async function token(claims: Record<string, unknown>, opts: { exp?: number; secret?: string; alg?: string } = {}): Promise<string> {
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuedAt();
  if (opts.exp !== undefined) jwt.setExpirationTime(opts.exp);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

/** What checkSubscriber refuses with: [status, code, message], or the grant when it accepts. */
async function outcome(t: string | undefined, topics: string[]): Promise<SubscriberGrant | [number, string, string]> {
  try {
    return await auth.checkSubscriber(t, topics);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    const e = err as HttpError;
    return [e.status, e.code, e.message];
  }
}

describe('Auth.checkSubscriber', () => {
  it('a valid token covering every topic: the grant carries its exp', async () => {
    const exp = now() + 600;
    expect(await outcome(await token({ topics: ['news/*', 'chat'] }, { exp }), ['news/eu', 'chat'])).toEqual({ exp });
  });

  it('a valid token without exp: a grant with no expiry', async () => {
    expect(await outcome(await token({ topics: ['*'] }), ['anything'])).toEqual({});
  });

  it('an expired token -> 401 UNAUTHORIZED "token expired"', async () => {
    expect(await outcome(await token({ topics: ['*'] }, { exp: now() - 60 }), ['a'])).toEqual([401, 'UNAUTHORIZED', 'token expired']);
  });

  it('a token signed with another secret -> 401 UNAUTHORIZED "token invalid"', async () => {
    const forged = await token({ topics: ['*'] }, { secret: 'another-secret-of-at-least-32-chars' });
    expect(await outcome(forged, ['a'])).toEqual([401, 'UNAUTHORIZED', 'token invalid']);
  });

  it('a token with a tampered payload -> 401', async () => {
    const [header, , signature] = (await token({ topics: ['a'] })).split('.');
    const payload = Buffer.from(JSON.stringify({ topics: ['*'] })).toString('base64url');
    expect(await outcome(`${header}.${payload}.${signature}`, ['b'])).toEqual([401, 'UNAUTHORIZED', 'token invalid']);
  });

  it('another algorithm than HS256, even with the right secret -> 401', async () => {
    expect(await outcome(await token({ topics: ['*'] }, { alg: 'HS512' }), ['a'])).toEqual([401, 'UNAUTHORIZED', 'token invalid']);
  });

  it.each(['', 'not-a-jwt', 'a.b.c'])('a malformed token (%j) -> 401', async (t) => {
    const result = await outcome(t, ['a']);
    expect(result).toEqual([401, 'UNAUTHORIZED', 'token invalid']);
  });

  it('no token -> 401 naming where a token is read from', async () => {
    const result = await outcome(undefined, ['a']);
    expect(result).toEqual([401, 'UNAUTHORIZED', expect.stringContaining('sse_token')]);
  });

  it.each<[string, Record<string, unknown>]>([
    ['no topics claim', { sub: 'u1' }],
    ['topics not an array', { topics: 'a' }],
    ['a topic pattern that is not a string', { topics: ['a', 1] }],
  ])('%s -> 401 about the topics claim', async (_what, claims) => {
    const result = await outcome(await token(claims), ['a']);
    expect(result).toEqual([401, 'UNAUTHORIZED', expect.stringContaining('"topics" claim')]);
  });

  it('a topic the token does not cover -> 403 FORBIDDEN naming the topic', async () => {
    const t = await token({ topics: ['news/*'] }, { exp: now() + 600 });
    expect(await outcome(t, ['news/eu', 'chat'])).toEqual([403, 'FORBIDDEN', expect.stringContaining('chat')]);
    expect(await outcome(await token({ topics: [] }), ['a'])).toEqual([403, 'FORBIDDEN', expect.stringContaining('a')]);
  });

  it('without JWT_SECRET every subscriber is let in, token or not', async () => {
    expect(open.needsToken(['a', '$presence'])).toBe(false);
    expect(auth.needsToken(['a'])).toBe(true);
    expect(await open.checkSubscriber(undefined, ['a'])).toEqual({});
    expect(await open.checkSubscriber('garbage', ['a'])).toEqual({});
    expect(await open.checkSubscriber(undefined, ['$presence'])).toEqual({});
  });
});

// $presence names every topic with subscribers: it needs the credential of an unrestricted GET /topics.
describe('Auth.checkSubscriber on $presence', () => {
  const tokenOnly = new Auth(loadConfig({ PUBLISH_TOKEN }));
  const refusedBy = async (a: Auth, t: string | undefined, topics: string[]): Promise<SubscriberGrant | [number, string]> =>
    a.checkSubscriber(t, topics).then(
      (grant) => grant,
      (err: HttpError) => [err.status, err.code],
    );

  it('PUBLISH_TOKEN alone: other topics stay open; $presence needs the token (401 without, or with another)', async () => {
    expect(tokenOnly.needsToken(['a'])).toBe(false);
    expect(tokenOnly.needsToken(['a', '$presence'])).toBe(true);
    expect(await refusedBy(tokenOnly, undefined, ['$presence'])).toEqual([401, 'UNAUTHORIZED']);
    expect(await refusedBy(tokenOnly, 'pub-token-0123456780', ['a', '$presence'])).toEqual([401, 'UNAUTHORIZED']);
    expect(await refusedBy(tokenOnly, PUBLISH_TOKEN, ['a', '$presence'])).toEqual({});
  });

  it('with JWTs: a publisher JWT for every topic ("*"), or PUBLISH_TOKEN; a subscriber or narrower publisher JWT is 403', async () => {
    expect(await refusedBy(auth, await token({ publish: ['*'] }), ['$presence'])).toEqual({});
    expect(await refusedBy(auth, PUBLISH_TOKEN, ['$presence'])).toEqual({});
    expect(await refusedBy(auth, await token({ topics: ['*'] }), ['$presence'])).toEqual([403, 'FORBIDDEN']);
    expect(await refusedBy(auth, await token({ topics: ['$presence'] }), ['$presence'])).toEqual([403, 'FORBIDDEN']);
    expect(await refusedBy(auth, await token({ publish: ['tenantA.*'] }), ['$presence'])).toEqual([403, 'FORBIDDEN']);
    expect(await refusedBy(auth, await token({ publish: [] }), ['$presence'])).toEqual([403, 'FORBIDDEN']);
    expect(await refusedBy(auth, undefined, ['$presence'])).toEqual([401, 'UNAUTHORIZED']);
  });

  it('beside other topics, one JWT must cover both: the topics claim for them, a publish claim of "*" for $presence', async () => {
    expect(await refusedBy(auth, await token({ topics: ['a'], publish: ['*'] }), ['a', '$presence'])).toEqual({});
    expect(await refusedBy(auth, await token({ topics: ['b'], publish: ['*'] }), ['a', '$presence'])).toEqual([403, 'FORBIDDEN']);
    expect(await refusedBy(auth, await token({ topics: ['*'] }), ['a', '$presence'])).toEqual([403, 'FORBIDDEN']);
    // PUBLISH_TOKEN is not a subscriber JWT: it opens $presence alone
    expect(await refusedBy(auth, PUBLISH_TOKEN, ['a', '$presence'])).toEqual([401, 'UNAUTHORIZED']);
  });
});

describe('Auth.checkPublisher', () => {
  const refusal = (authorization: string): [number, string] | 'ok' => {
    try {
      auth.checkPublisher(authorization);
      return 'ok';
    } catch (err) {
      expect(err).toBeInstanceOf(HttpError);
      return [(err as HttpError).status, (err as HttpError).code];
    }
  };

  it('the right token is accepted, with either case of "Bearer"', () => {
    expect(refusal(`Bearer ${PUBLISH_TOKEN}`)).toBe('ok');
    expect(refusal(`bearer ${PUBLISH_TOKEN}`)).toBe('ok');
  });

  it.each(['', 'Bearer', 'Bearer wrong', `Bearer ${PUBLISH_TOKEN}x`, `Bearer ${PUBLISH_TOKEN.slice(0, -1)}`, PUBLISH_TOKEN, `Basic ${PUBLISH_TOKEN}`])(
    'a wrong or missing token (%j) -> 401 UNAUTHORIZED',
    (authorization) => {
      expect(refusal(authorization)).toEqual([401, 'UNAUTHORIZED']);
    },
  );

  it('without PUBLISH_TOKEN publishing is open', () => {
    expect(() => open.checkPublisher('')).not.toThrow();
    expect(() => open.checkPublisher('Bearer anything')).not.toThrow();
  });
});

describe('bearer', () => {
  it.each<[string, string | undefined]>([
    ['Bearer abc.def', 'abc.def'],
    ['bearer abc', 'abc'],
    ['BEARER   abc', 'abc'],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    ['Bearer a b', undefined],
    ['Basic abc', undefined],
    ['abc', undefined],
    ['', undefined],
  ])('%j -> %j', (header, expected) => {
    expect(bearer(header)).toBe(expected);
  });
});

describe('cookie', () => {
  it.each<[string, string | undefined]>([
    ['sse_token=abc', 'abc'],
    ['a=1; sse_token=abc; b=2', 'abc'],
    ['a=1;sse_token=abc', 'abc'],
    ['sse_token=abc; sse_token=later', 'abc'],
    ['sse_token=a%20b%3Bc', 'a b;c'],
    ['sse_token=x.y=z', 'x.y=z'],
    ['sse_token=', ''],
    ['xsse_token=abc; sse_token_2=def', undefined],
    ['a=1; b=2', undefined],
    ['sse_token', undefined],
    ['', undefined],
  ])('%j -> %j', (header, expected) => {
    expect(cookie(header, 'sse_token')).toBe(expected);
  });

  it('a malformed percent-encoding in another cookie does not disturb the one asked for', () => {
    expect(cookie('other=%E0%A4%A; sse_token=abc', 'sse_token')).toBe('abc');
  });

  // A browser sends whatever a page set: a bad escape must not throw out of the request handler.
  // Chosen expectation: the raw value, undecoded (what the `cookie` npm package does); the token
  // check then refuses it with a 401 like any other invalid token.
  it('a malformed percent-encoding in the cookie asked for gives its raw value, without a URIError', () => {
    expect(cookie('sse_token=%E0%A4%A', 'sse_token')).toBe('%E0%A4%A');
    expect(cookie('a=1; sse_token=%zz', 'sse_token')).toBe('%zz');
  });
});

describe('subscriberToken', () => {
  const q = (query: string): URLSearchParams => new URLSearchParams(query);
  it.each<[string, string, string, string | undefined]>([
    ['Bearer h', 'sse_token=c', 'token=q', 'h'],
    ['', 'sse_token=c', 'token=q', 'c'],
    ['', '', 'token=q', 'q'],
    ['Bearer ', 'sse_token=c', 'token=q', 'c'],
    ['Bearer ', 'sse_token=', 'token=q', 'q'],
    ['', 'sse_token=; a=1', 'token=q', 'q'],
    ['Basic x', 'sse_token= ', 'token=q', 'q'],
    ['Bearer', 'sse_token=', 'token=', undefined],
    ['', '', '', undefined],
  ])('Authorization %j, Cookie %j, query %j -> %j', (authorization, cookies, query, expected) => {
    expect(subscriberToken(authorization, cookies, q(query))).toBe(expected);
  });
});
