// The access-control variables (src/config/access-control.ts): defaults, every variable read, and a
// clear start-up message for each mistake, all listed together.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ACCESS_CONTROL_DEFAULTS } from '../../../src/config/access-control.js';
import { problemsOf } from '../../helpers/config-problems.js';
import { loadConfig } from '../../../src/config/config.js';

const dir = mkdtempSync(join(tmpdir(), 'access-config-'));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA_PUB = file('rsa.pub.pem', rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString());
const RSA_PRIV = file('rsa.key.pem', rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
const SECRET = 'x'.repeat(32);

describe('access-control config', () => {
  it('defaults: no key source, claims topics/publish, tolerance 5 s, no per-IP limit, 16 KiB request heads', () => {
    const c = loadConfig({});
    expect(Object.fromEntries(Object.keys(ACCESS_CONTROL_DEFAULTS).map((k) => [k, c[k as keyof typeof c]]))).toEqual(ACCESS_CONTROL_DEFAULTS);
    expect(ACCESS_CONTROL_DEFAULTS).toMatchObject({ jwksCacheS: 300, jwtTopicsClaim: 'topics', jwtPublishClaim: 'publish', jwtClockToleranceS: 5, maxConnectionsPerIp: 0, maxHeadersSize: 16_384 });
  });

  it('reads every variable', () => {
    const c = loadConfig({
      JWT_SECRET: SECRET,
      JWT_PUBLIC_KEY_FILE: RSA_PUB,
      JWKS_URL: 'https://idp.example.com/realms/demo/protocol/openid-connect/certs',
      JWKS_CACHE_S: '60',
      JWT_ALGORITHMS: 'RS256, ES256,RS256',
      JWT_ISSUER: 'https://idp.example.com/realms/demo',
      JWT_AUDIENCE: 'sse',
      JWT_TOPICS_CLAIM: 'https://example.com/topics',
      JWT_PUBLISH_CLAIM: 'https://example.com/publish',
      JWT_CLOCK_TOLERANCE_S: '0',
      MAX_CONNECTIONS_PER_IP: '10',
      TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1',
      UWS_HTTP_MAX_HEADERS_SIZE: '32768',
    });
    expect(c).toMatchObject({
      jwtPublicKeyFile: RSA_PUB,
      jwtPublicKeyPem: expect.stringContaining('-----BEGIN PUBLIC KEY-----'),
      jwksUrl: 'https://idp.example.com/realms/demo/protocol/openid-connect/certs',
      jwksCacheS: 60,
      jwtAlgorithms: ['RS256', 'ES256'],
      jwtIssuer: 'https://idp.example.com/realms/demo',
      jwtAudience: 'sse',
      jwtTopicsClaim: 'https://example.com/topics',
      jwtPublishClaim: 'https://example.com/publish',
      jwtClockToleranceS: 0,
      maxConnectionsPerIp: 10,
      trustProxy: ['127.0.0.1', '10.0.0.0/8', '::1'],
      maxHeadersSize: 32_768,
    });
  });

  it.each([
    [{ JWT_PUBLIC_KEY_FILE: join(dir, 'missing.pem') }, /^`JWT_PUBLIC_KEY_FILE` cannot be read: ENOENT/],
    [{ JWT_PUBLIC_KEY_FILE: RSA_PRIV }, /^`JWT_PUBLIC_KEY_FILE` holds a private key/],
    [{ JWT_PUBLIC_KEY_FILE: file('junk.pem', 'hello') }, /^`JWT_PUBLIC_KEY_FILE` is not a PEM public key/],
    [{ JWKS_URL: 'ftp://idp.example.com/jwks' }, /^`JWKS_URL` must be an http\(s\) URL/],
    [{ JWKS_URL: 'idp.example.com/jwks' }, /^`JWKS_URL` must be an http\(s\) URL/],
    [{ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS256,none' }, /^`JWT_ALGORITHMS` must list algorithms among HS256, RS256/],
    [{ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'HS512' }, /^`JWT_ALGORITHMS` must list/],
    [{ JWT_SECRET: SECRET, JWT_ALGORITHMS: 'RS256' }, /^`JWT_ALGORITHMS` allows none of the algorithms of the configured keys \(HS256\)/],
    [{ JWT_ISSUER: 'https://idp.example.com/' }, /^`JWT_ISSUER` needs a key source: set `JWT_SECRET`, `JWT_PUBLIC_KEY_FILE` or `JWKS_URL`/],
    [{ JWT_TOPICS_CLAIM: 'scope' }, /^`JWT_TOPICS_CLAIM` needs a key source/],
    [{ JWT_SECRET: SECRET, JWKS_CACHE_S: '60' }, /^`JWKS_CACHE_S` needs `JWKS_URL`/],
    [{ JWT_SECRET: SECRET, JWT_TOPICS_CLAIM: 'perm', JWT_PUBLISH_CLAIM: 'perm' }, /must differ \(both `perm`\): every subscriber could publish/],
    [{ TRUST_PROXY: '127.0.0.1,proxy.local' }, /^`TRUST_PROXY` must list IP addresses or CIDRs/],
    [{ TRUST_PROXY: '10.0.0.0/33' }, /^`TRUST_PROXY` must list/],
    [{ MAX_CONNECTIONS_PER_IP: '-1' }, /^`MAX_CONNECTIONS_PER_IP` must be an integer from 0 to 10000000/],
    [{ JWKS_URL: 'https://idp.example.com/jwks', JWT_CLOCK_TOLERANCE_S: '301' }, /^`JWT_CLOCK_TOLERANCE_S` must be an integer from 0 to 300/],
    [{ UWS_HTTP_MAX_HEADERS_SIZE: '4096' }, /^`UWS_HTTP_MAX_HEADERS_SIZE` must be an integer from 12288 to 1048576/],
  ] as Array<[Record<string, string>, RegExp]>)('%j is refused with a clear message', (env, message) => {
    const problems = problemsOf(env);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('lists every problem at once', () => {
    expect(problemsOf({ JWKS_URL: 'nope', TRUST_PROXY: 'x', MAX_CONNECTIONS_PER_IP: 'y', PORT: 'z' })).toHaveLength(4);
  });
});
