// The key decides the algorithm (src/intake/jwt-keys.ts): RSA -> RS/PS, EC -> the ES of its curve,
// Ed25519 -> EdDSA; private keys, short RSA keys and odd curves refused; a JWKS key's own alg, use
// and key_ops honoured; symmetric keys never taken from a JWKS.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keyFromJwk, keyFromPem, RSA_ALGORITHMS } from '../../../src/intake/jwt-keys.js';

const pemOf = (type: Parameters<typeof generateKeyPairSync>[0], options: object): { pub: string; priv: string; jwk: Record<string, unknown> } => {
  const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
  return {
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    priv: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    jwk: publicKey.export({ format: 'jwk' }) as Record<string, unknown>,
  };
};

const rsa = pemOf('rsa', { modulusLength: 2048 });
const p256 = pemOf('ec', { namedCurve: 'P-256' });
const p384 = pemOf('ec', { namedCurve: 'P-384' });
const ed = pemOf('ed25519', {});

const algsOf = (r: ReturnType<typeof keyFromPem>): readonly string[] | string => (r.ok ? r.key.algorithms : r.problem);

describe('keyFromPem (JWT_PUBLIC_KEY_FILE)', () => {
  it('the key type fixes the algorithms', () => {
    expect(algsOf(keyFromPem(rsa.pub))).toEqual([...RSA_ALGORITHMS]);
    expect(algsOf(keyFromPem(p256.pub))).toEqual(['ES256']);
    expect(algsOf(keyFromPem(p384.pub))).toEqual(['ES384']);
    expect(algsOf(keyFromPem(ed.pub))).toEqual(['EdDSA']);
  });

  it('reads a PKCS#1 RSA public key and an X.509 certificate', () => {
    const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(algsOf(keyFromPem(publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()))).toEqual([...RSA_ALGORITHMS]);
    const dir = mkdtempSync(join(tmpdir(), 'jwt-keys-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-subj', '/CN=idp', '-days', '1'], { stdio: 'ignore' });
    const cert = readFileSync(join(dir, 'c.pem'), 'utf8');
    expect(new X509Certificate(cert).subject).toBe('CN=idp');
    expect(algsOf(keyFromPem(cert))).toEqual(['ES256']);
  });

  it('refuses a private key, a short RSA key, other curves and garbage, saying why', () => {
    expect(algsOf(keyFromPem(rsa.priv))).toMatch(/private key/);
    expect(algsOf(keyFromPem(pemOf('rsa', { modulusLength: 1024 }).pub))).toMatch(/RSA 1024-bit is too short/);
    expect(algsOf(keyFromPem(pemOf('ec', { namedCurve: 'secp256k1' }).pub))).toMatch(/EC secp256k1 is not supported/);
    expect(algsOf(keyFromPem(pemOf('ed448', {}).pub))).toMatch(/ed448 keys are not supported/);
    expect(algsOf(keyFromPem('hello'))).toMatch(/not a PEM public key/);
    expect(algsOf(keyFromPem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n'))).toMatch(/cannot be read/);
  });
});

describe('keyFromJwk (JWKS keys)', () => {
  it('takes RSA, EC and OKP keys with their kid', () => {
    const r = keyFromJwk({ ...rsa.jwk, kid: 'r1' });
    expect(r.ok && [r.key.kid, r.key.algorithms]).toEqual(['r1', [...RSA_ALGORITHMS]]);
    expect(algsOf(keyFromJwk({ ...p256.jwk, kid: 'e1' }))).toEqual(['ES256']);
    expect(algsOf(keyFromJwk({ ...ed.jwk, kid: 'o1' }))).toEqual(['EdDSA']);
  });

  it('a key that names its alg verifies only that one, and the alg must fit the key', () => {
    expect(algsOf(keyFromJwk({ ...rsa.jwk, kid: 'r1', alg: 'PS256' }))).toEqual(['PS256']);
    expect(algsOf(keyFromJwk({ ...rsa.jwk, kid: 'r1', alg: 'HS256' }))).toMatch(/alg "HS256" does not fit a RSA 2048-bit key/);
    expect(algsOf(keyFromJwk({ ...p256.jwk, kid: 'e1', alg: 'ES384' }))).toMatch(/does not fit/);
  });

  it('skips encryption keys, keys not for verify, symmetric keys and private keys', () => {
    expect(algsOf(keyFromJwk({ ...rsa.jwk, kid: 'x', use: 'enc' }))).toMatch(/use is "enc"/);
    expect(algsOf(keyFromJwk({ ...rsa.jwk, kid: 'x', key_ops: ['encrypt'] }))).toMatch(/key_ops/);
    expect(algsOf(keyFromJwk({ kty: 'oct', k: 'c2VjcmV0', kid: 'x' }))).toMatch(/symmetric keys are not taken from a JWKS/);
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(algsOf(keyFromJwk({ ...(privateKey.export({ format: 'jwk' }) as object), kid: 'x' }))).toMatch(/private key/);
    expect(algsOf(keyFromJwk({ kty: 'RSA', n: 'AQAB', e: 'AQAB', kid: 'x' }))).toMatch(/kid "x"/);
    expect(algsOf(keyFromJwk({ kid: 'x' }))).toMatch(/no kty/);
  });
});
