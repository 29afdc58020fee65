// The access-control facade a shard uses (src/intake/access-control.ts, auth.ts): who may publish for
// each combination of PUBLISH_TOKEN and key sources, which refusals come before the body is read,
// that PUBLISH_TOKEN and a JWT the keys at hand verify are decided synchronously (HTTP pipelining
// needs the answer in the callback that read the body), and /healthz's view of a JWKS never reached.
import { generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.js';
import { AccessControl } from '../../../src/intake/access-control.js';
import { HttpError } from '../../../src/intake/errors.js';
import type { JwksFeed, JwksState, PublicJwk } from '../../../src/intake/jwks-feed.js';

const SECRET = 'a-test-secret-of-at-least-32-chars!';
const PUBLISH_TOKEN = 'pub-token-0123456789';

const sign = (claims: Record<string, unknown>): Promise<string> => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET));

/**
 * 'allowed now', 'allowed later', or [status, code, when] of the refusal: thrown before the body is
 * read ('now'), thrown once it is ('body'), or rejected later.
 */
async function publishing(access: AccessControl, authorization: string, topics: string[]): Promise<string | [number, string, 'now' | 'body' | 'later']> {
  let check;
  try {
    check = access.auth.checkPublisher(authorization);
  } catch (err) {
    return [(err as HttpError).status, (err as HttpError).code, 'now'];
  }
  let allowed;
  try {
    allowed = check.allow(topics);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return [(err as HttpError).status, (err as HttpError).code, 'body'];
  }
  if (allowed === undefined) return 'allowed now';
  try {
    await allowed;
    return 'allowed later';
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return [(err as HttpError).status, (err as HttpError).code, 'later'];
  }
}

describe('publishing', () => {
  const open = new AccessControl(loadConfig({}));
  const tokenOnly = new AccessControl(loadConfig({ PUBLISH_TOKEN }));
  const keysOnly = new AccessControl(loadConfig({ JWT_SECRET: SECRET }));
  const both = new AccessControl(loadConfig({ JWT_SECRET: SECRET, PUBLISH_TOKEN }));

  it('is open only without PUBLISH_TOKEN and without a key source', async () => {
    expect(await publishing(open, '', ['a'])).toBe('allowed now');
    expect(await publishing(tokenOnly, '', ['a'])).toEqual([401, 'UNAUTHORIZED', 'now']);
    expect(await publishing(keysOnly, '', ['a'])).toEqual([401, 'UNAUTHORIZED', 'now']);
    expect(await publishing(both, '', ['a'])).toEqual([401, 'UNAUTHORIZED', 'now']);
  });

  it('PUBLISH_TOKEN is allowed at once, every topic, whatever keys are set', async () => {
    expect(await publishing(tokenOnly, `Bearer ${PUBLISH_TOKEN}`, ['a', 'b'])).toBe('allowed now');
    expect(await publishing(both, `Bearer ${PUBLISH_TOKEN}`, ['a', 'b'])).toBe('allowed now');
  });

  it('a bearer that cannot be a JWT is refused before the body is read', async () => {
    for (const a of ['Bearer wrong', `Bearer ${PUBLISH_TOKEN}x`, `Bearer ${'a'.repeat(9000)}.b.c`]) {
      expect(await publishing(both, a, ['a'])).toEqual([401, 'UNAUTHORIZED', 'now']);
    }
  });

  it('a publisher JWT, decided with the body: covering all topics allowed, else 403; without the claim 403; badly signed 401; not without a key source', async () => {
    const jwt = await sign({ publish: ['orders.*'] });
    expect(await publishing(keysOnly, `Bearer ${jwt}`, ['orders.eu', 'orders.us'])).toBe('allowed now');
    expect(await publishing(keysOnly, `Bearer ${jwt}`, ['orders.eu', 'payments'])).toEqual([403, 'FORBIDDEN', 'body']);
    expect(await publishing(keysOnly, `Bearer ${await sign({ topics: ['*'] })}`, ['a'])).toEqual([403, 'FORBIDDEN', 'body']);
    const forged = await new SignJWT({ publish: ['*'] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('another-secret-of-at-least-32-chars'));
    expect(await publishing(keysOnly, `Bearer ${forged}`, ['a'])).toEqual([401, 'UNAUTHORIZED', 'body']);
    expect(await publishing(tokenOnly, `Bearer ${jwt}`, ['orders.eu'])).toEqual([401, 'UNAUTHORIZED', 'now']);
  });

  it('JWT_PUBLISH_CLAIM names the claim', async () => {
    const custom = new AccessControl(loadConfig({ JWT_SECRET: SECRET, JWT_PUBLISH_CLAIM: 'https://example.com/publish' }));
    expect(await publishing(custom, `Bearer ${await sign({ 'https://example.com/publish': ['*'] })}`, ['a'])).toBe('allowed now');
    expect(await publishing(custom, `Bearer ${await sign({ publish: ['*'] })}`, ['a'])).toEqual([403, 'FORBIDDEN', 'body']);
  });
});

describe('publishing with a JWKS', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = { ...(publicKey.export({ format: 'jwk' }) as PublicJwk), kid: 'k1' };
  const signed = (kid: string): Promise<string> => new SignJWT({ publish: ['*'] }).setProtectedHeader({ alg: 'EdDSA', kid }).sign(privateKey);

  it('a kid the set has is decided now; one it lacks waits for the refetch, then is decided', async () => {
    let state: JwksState = { keys: [jwk], problem: undefined, version: 1 };
    const feed: JwksFeed = {
      state: () => state,
      refetch: async () => {
        state = { keys: [jwk, { ...jwk, kid: 'k2' }], problem: undefined, version: 2 };
      },
    };
    const access = new AccessControl(loadConfig({ JWKS_URL: 'https://idp.example.com/certs' }), { jwks: feed });
    expect(await publishing(access, `Bearer ${await signed('k1')}`, ['a'])).toBe('allowed now');
    expect(await publishing(access, `Bearer ${await signed('k2')}`, ['a'])).toBe('allowed later');
    expect(await publishing(access, `Bearer ${await signed('k2')}`, ['a'])).toBe('allowed now');
  });
});

describe('health', () => {
  const feed = (state: JwksState): JwksFeed => ({ state: () => state, refetch: () => Promise.resolve() });
  const config = loadConfig({ JWKS_URL: 'https://idp.example.com/certs' });

  it('says why while the JWKS was never reached, nothing once it was', () => {
    expect(new AccessControl(config, { jwks: feed({ keys: undefined, problem: 'JWKS not loaded yet: HTTP 503', version: 1 }) }).healthProblem()).toBe('JWKS not loaded yet: HTTP 503');
    expect(new AccessControl(config, { jwks: feed({ keys: [], problem: undefined, version: 2 }) }).healthProblem()).toBeUndefined();
    expect(new AccessControl(loadConfig({})).healthProblem()).toBeUndefined();
  });

  it('JWKS_URL without a feed is a wiring bug, caught at start', () => {
    expect(() => new AccessControl(config)).toThrow(/no JWKS feed/);
  });
});
