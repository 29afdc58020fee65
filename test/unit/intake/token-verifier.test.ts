// The verifier (src/intake/token-verifier.ts) with real keys: every algorithm the keys allow, and
// only those; alg confusion and alg none; JWT_ALGORITHMS; iss, aud, exp, nbf with tolerance; JWKS
// kids (refetch on an unknown kid, shed while never loaded); the size cap. Each refusal's reason.
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { HttpError } from '../../../src/intake/errors.js';
import type { JwksFeed, JwksState, PublicJwk } from '../../../src/intake/jwks-feed.js';
import { TokenRefused } from '../../../src/intake/token-claims.js';
import { MAX_TOKEN_BYTES, TokenVerifier, type VerifierOptions } from '../../../src/intake/token-verifier.js';

const pair = (type: 'rsa' | 'ec' | 'ed25519', opt: object = {}): { priv: KeyObject; pem: string; jwk: PublicJwk } => {
  const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', opt as { modulusLength: number });
  return { priv: privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), jwk: publicKey.export({ format: 'jwk' }) as PublicJwk };
};
const RSA = pair('rsa', { modulusLength: 2048 });
const P256 = pair('ec', { namedCurve: 'P-256' });
const P384 = pair('ec', { namedCurve: 'P-384' });
const ED = pair('ed25519');
const SECRET = 'a-secret-of-at-least-32-characters-0123456789';
const nowS = (): number => Math.floor(Date.now() / 1000);

async function sign(alg: string, key: KeyObject | Uint8Array, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ topics: ['t'], ...claims }).setProtectedHeader({ alg, ...header }).sign(key);
}

const verifier = (opts: Partial<VerifierOptions>): TokenVerifier => new TokenVerifier({ clockToleranceS: 0, ...opts });

/** The reason a token is refused with, or 'accepted'. */
async function outcome(v: TokenVerifier, token: string): Promise<string> {
  try {
    await v.verify(token);
    return 'accepted';
  } catch (err) {
    if (err instanceof TokenRefused) return err.reason;
    if (err instanceof HttpError) return err.code;
    throw err;
  }
}

/** A JwksFeed under the test's control; `onRefetch` may change the state like the main thread would. */
function feed(keys: PublicJwk[] | undefined, onRefetch: (f: { set(keys: PublicJwk[]): void }) => void = () => {}): JwksFeed & { refetches: number; set(keys: PublicJwk[]): void } {
  let state: JwksState = { keys, problem: keys ? undefined : 'JWKS not loaded yet: test', version: 1 };
  const f = {
    refetches: 0,
    set(k: PublicJwk[]) {
      state = { keys: k, problem: undefined, version: state.version + 1 };
    },
    state: () => state,
    async refetch() {
      f.refetches++;
      onRefetch(f);
    },
  };
  return f;
}

describe('each key type verifies its algorithms', () => {
  it.each([
    ['RS256', RSA],
    ['RS512', RSA],
    ['PS256', RSA],
    ['ES256', P256],
    ['ES384', P384],
    ['EdDSA', ED],
  ] as const)('%s with JWT_PUBLIC_KEY_FILE', async (alg, k) => {
    expect(await outcome(verifier({ publicKeyPem: k.pem }), await sign(alg, k.priv))).toBe('accepted');
  });

  it('HS256 with JWT_SECRET', async () => {
    expect(await outcome(verifier({ secret: SECRET }), await sign('HS256', Buffer.from(SECRET)))).toBe('accepted');
  });

  it('several sources at once: any of them verifies', async () => {
    const v = verifier({ secret: SECRET, publicKeyPem: RSA.pem, jwks: feed([{ ...ED.jwk, kid: 'ed' }]) });
    expect(await outcome(v, await sign('HS256', Buffer.from(SECRET)))).toBe('accepted');
    expect(await outcome(v, await sign('RS256', RSA.priv))).toBe('accepted');
    expect(await outcome(v, await sign('EdDSA', ED.priv, {}, { kid: 'ed' }))).toBe('accepted');
    expect(await outcome(v, await sign('ES256', P256.priv))).toMatch(/^no key for alg ES256/);
  });

  it('a key of another type is not tried: an ES256 token against an RSA key is "alg not allowed"', async () => {
    expect(await outcome(verifier({ publicKeyPem: RSA.pem }), await sign('ES256', P256.priv))).toMatch(/^alg "ES256" not allowed \(the keys allow RS256, RS384, RS512, PS256, PS384, PS512\)/);
  });
});

describe('the token cannot choose the algorithm', () => {
  it('alg confusion: HS256 signed with the RSA public key as HMAC secret is refused', async () => {
    const forged = await sign('HS256', Buffer.from(RSA.pem));
    expect(await outcome(verifier({ publicKeyPem: RSA.pem }), forged)).toMatch(/^alg "HS256" not allowed/);
    // with a JWT_SECRET too, HS256 is checked against the secret only
    expect(await outcome(verifier({ publicKeyPem: RSA.pem, secret: SECRET }), forged)).toMatch(/^bad signature \(tried JWT_SECRET\)/);
    // and against a JWKS: the JWKS never provides HMAC keys
    expect(await outcome(verifier({ jwks: feed([{ ...RSA.jwk, kid: 'r' }]) }), await sign('HS256', Buffer.from(JSON.stringify(RSA.jwk)), {}, { kid: 'r' }))).toMatch(/^alg "HS256" not allowed/);
  });

  it('alg none is refused, with or without a signature part', async () => {
    const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
    const v = verifier({ secret: SECRET, publicKeyPem: RSA.pem });
    for (const alg of ['none', 'None', 'NONE']) {
      expect(await outcome(v, `${b64({ alg })}.${b64({ topics: ['*'] })}.`)).toMatch(/^alg "(none|None|NONE)" not allowed/);
    }
    const hs = createHmac('sha256', SECRET).update('x').digest('base64url');
    expect(await outcome(v, `${b64({ alg: 'none' })}.${b64({ topics: ['*'] })}.${hs}`)).toMatch(/not allowed/);
  });

  it('JWT_ALGORITHMS narrows what the keys allow, never widens it', async () => {
    const v = verifier({ publicKeyPem: RSA.pem, algorithms: ['RS256', 'ES256', 'HS256'] });
    expect(await outcome(v, await sign('RS256', RSA.priv))).toBe('accepted');
    expect(await outcome(v, await sign('PS256', RSA.priv))).toMatch(/^alg "PS256" not allowed \(the keys allow RS256\)/);
    expect(await outcome(v, await sign('HS256', Buffer.from(RSA.pem)))).toMatch(/^alg "HS256" not allowed/);
    expect(v.algorithms).toEqual(['RS256']);
  });

  it('a JWKS key that names its alg verifies only that alg', async () => {
    const v = verifier({ jwks: feed([{ ...RSA.jwk, kid: 'r', alg: 'PS256' }]) });
    expect(await outcome(v, await sign('PS256', RSA.priv, {}, { kid: 'r' }))).toBe('accepted');
    expect(await outcome(v, await sign('RS256', RSA.priv, {}, { kid: 'r' }))).toMatch(/^alg RS256 not allowed for kid "r" \(PS256\)/);
  });

  it('a tampered payload is a bad signature', async () => {
    const token = await sign('ES256', P256.priv);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ topics: ['*'] })).toString('base64url')}.${s}`;
    expect(await outcome(verifier({ publicKeyPem: P256.pem }), forged)).toMatch(/^bad signature \(tried JWT_PUBLIC_KEY_FILE\)/);
  });
});

describe('claims', () => {
  const v = verifier({ publicKeyPem: ED.pem, issuer: 'https://idp.example.com/', audience: 'sse' });
  const good = { iss: 'https://idp.example.com/', aud: ['other', 'sse'] };

  it('iss must equal JWT_ISSUER, aud must contain JWT_AUDIENCE', async () => {
    expect(await outcome(v, await sign('EdDSA', ED.priv, good))).toBe('accepted');
    expect(await outcome(v, await sign('EdDSA', ED.priv, { ...good, iss: 'https://evil.example.com/' }))).toBe('wrong issuer (iss "https://evil.example.com/")');
    expect(await outcome(v, await sign('EdDSA', ED.priv, { ...good, iss: undefined }))).toBe('wrong issuer (iss undefined)');
    expect(await outcome(v, await sign('EdDSA', ED.priv, { ...good, aud: 'web' }))).toBe('wrong audience (aud "web")');
  });

  it('exp and nbf, with the clock tolerance', async () => {
    const strict = verifier({ publicKeyPem: ED.pem, clockToleranceS: 0 });
    const lenient = verifier({ publicKeyPem: ED.pem, clockToleranceS: 30 });
    const expired = await sign('EdDSA', ED.priv, { exp: nowS() - 10 });
    const early = await sign('EdDSA', ED.priv, { nbf: nowS() + 10 });
    expect(await outcome(strict, expired)).toBe('expired');
    expect(await outcome(strict, early)).toMatch(/^not yet valid \(nbf \d+\)$/);
    expect(await outcome(lenient, expired)).toBe('accepted');
    expect(await outcome(lenient, early)).toBe('accepted');
    expect(await outcome(lenient, await sign('EdDSA', ED.priv, { exp: nowS() - 60 }))).toBe('expired');
    expect(await outcome(lenient, await sign('EdDSA', ED.priv, { nbf: nowS() + 60 }))).toMatch(/^not yet valid/);
  });
});

describe('JWKS', () => {
  it('picks the key by kid; without kid, any key that fits', async () => {
    const v = verifier({ jwks: feed([{ ...RSA.jwk, kid: 'r' }, { ...P256.jwk, kid: 'e' }]) });
    expect(await outcome(v, await sign('RS256', RSA.priv, {}, { kid: 'r' }))).toBe('accepted');
    expect(await outcome(v, await sign('ES256', P256.priv, {}, { kid: 'e' }))).toBe('accepted');
    expect(await outcome(v, await sign('ES256', P256.priv))).toBe('accepted');
    // the right kid, signed by another key of the same type
    expect(await outcome(v, await sign('ES256', pair('ec', { namedCurve: 'P-256' }).priv, {}, { kid: 'e' }))).toMatch(/^bad signature \(tried JWKS kid "e"\)/);
  });

  it('an unknown kid asks for a refetch and is accepted when the new set has it', async () => {
    const f = feed([{ ...RSA.jwk, kid: 'old' }], (me) => me.set([{ ...RSA.jwk, kid: 'old' }, { ...ED.jwk, kid: 'new' }]));
    const v = verifier({ jwks: f });
    expect(await outcome(v, await sign('EdDSA', ED.priv, {}, { kid: 'new' }))).toBe('accepted');
    expect(f.refetches).toBe(1);
    // a kid the set already has needs no refetch
    expect(await outcome(v, await sign('EdDSA', ED.priv, {}, { kid: 'new' }))).toBe('accepted');
    expect(f.refetches).toBe(1);
  });

  it('a kid still unknown after the refetch is refused', async () => {
    const f = feed([{ ...RSA.jwk, kid: 'old' }]);
    expect(await outcome(verifier({ jwks: f }), await sign('RS256', RSA.priv, {}, { kid: 'gone' }))).toBe('unknown kid "gone"');
    expect(f.refetches).toBe(1);
  });

  it('never loaded: KEYS_UNAVAILABLE (shed, not 401), unless another source verifies the token', async () => {
    const v = verifier({ jwks: feed(undefined), publicKeyPem: P256.pem, secret: SECRET });
    expect(await outcome(v, await sign('RS256', RSA.priv, {}, { kid: 'k' }))).toBe('KEYS_UNAVAILABLE');
    expect(await outcome(v, await sign('ES256', pair('ec', { namedCurve: 'P-256' }).priv))).toBe('KEYS_UNAVAILABLE');
    expect(await outcome(v, await sign('ES256', P256.priv))).toBe('accepted');
    expect(await outcome(v, await sign('HS256', Buffer.from(SECRET)))).toBe('accepted');
    // what no key could ever verify is still refused at once
    expect(await outcome(v, await sign('HS256', Buffer.from('x'.repeat(40))))).toMatch(/^bad signature/);
    expect(await outcome(v, 'not.a.jwt!')).toMatch(/^malformed/);
  });
});

describe('shape and size', () => {
  const v = verifier({ secret: SECRET });

  it(`accepts a token of ${MAX_TOKEN_BYTES} bytes and refuses one byte more, before parsing`, async () => {
    const base = await sign('HS256', Buffer.from(SECRET), { pad: '' });
    const padTo = async (n: number): Promise<string> => {
      let pad = 'x'.repeat(Math.max(0, Math.floor(((n - base.length) * 3) / 4)));
      for (;;) {
        const t = await sign('HS256', Buffer.from(SECRET), { pad });
        if (t.length === n) return t;
        pad = t.length < n ? `${pad}x` : pad.slice(0, -1);
      }
    };
    const max = await padTo(MAX_TOKEN_BYTES);
    expect(await outcome(v, max)).toBe('accepted');
    expect(await outcome(v, await padTo(MAX_TOKEN_BYTES + 1))).toBe(`too long (${MAX_TOKEN_BYTES + 1} bytes, at most ${MAX_TOKEN_BYTES})`);
  });

  it.each([
    ['garbage', 'garbage'],
    ['two parts', 'a.b'],
    ['a JWE (five parts)', 'a.b.c.d.e'],
    ['a header that is not JSON', `${Buffer.from('nope').toString('base64url')}.e30.sig`],
  ])('refuses %s as malformed', async (_what, token) => {
    expect(await outcome(v, token)).toMatch(/^malformed/);
  });

  it('refuses a crit header it does not understand, even well signed', async () => {
    const b64 = (x: unknown): string => Buffer.from(JSON.stringify(x)).toString('base64url');
    const input = `${b64({ alg: 'HS256', crit: ['x-ext'], 'x-ext': 1 })}.${b64({ topics: ['t'] })}`;
    const token = `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`;
    expect(await outcome(v, token)).toMatch(/^not supported|^malformed/);
  });
});
