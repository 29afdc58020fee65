// Verification keys and the algorithms each may verify. The key decides, never the token: an RSA
// key verifies RS*/PS* only, an EC key the one ES* of its curve, Ed25519 EdDSA, the JWT_SECRET HS256.
// So a token whose header says HS256 is never checked against a public key used as an HMAC secret.
import { constants, createHmac, createPublicKey, createSecretKey, timingSafeEqual, verify, type JsonWebKey, type KeyObject } from 'node:crypto';

export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [...RSA_ALGORITHMS, 'ES256', 'ES384', 'ES512', 'EdDSA'];
export const SUPPORTED_ALGORITHMS: readonly string[] = ['HS256', ...ASYMMETRIC_ALGORITHMS];

const CURVE_ALGORITHM: Record<string, string> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' };
const CURVE_NAME: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
/** jose refuses shorter RSA keys for RS and PS algorithms; so do we, at load time */
const MIN_RSA_BITS = 2048;

export interface VerificationKey {
  /** where it comes from, for the log: `JWT_SECRET`, `JWT_PUBLIC_KEY_FILE`, `JWKS kid "..."` */
  readonly source: string;
  readonly kid: string | undefined;
  readonly key: KeyObject;
  readonly algorithms: readonly string[];
}

export type KeyResult = { ok: true; key: VerificationKey } | { ok: false; problem: string };

/** "RSA 2048-bit", "EC P-256", "Ed25519": for messages. */
export function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      return `${key.asymmetricKeyType.toUpperCase()} ${d.modulusLength ?? '?'}-bit`;
    case 'ec':
      return `EC ${CURVE_NAME[d.namedCurve ?? ''] ?? d.namedCurve ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType ?? key.type);
  }
}

/** The algorithms a public key may verify, fixed by its type; a problem for a key we do not accept. */
export function algorithmsForKey(key: KeyObject): { algorithms: string[] } | { problem: string } {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
    case 'rsa-pss':
      if ((d.modulusLength ?? 0) < MIN_RSA_BITS) return { problem: `${describeKey(key)} is too short (RSA keys need ${MIN_RSA_BITS} bits or more)` };
      return { algorithms: key.asymmetricKeyType === 'rsa' ? [...RSA_ALGORITHMS] : ['PS256', 'PS384', 'PS512'] };
    case 'ec': {
      const alg = CURVE_ALGORITHM[d.namedCurve ?? ''];
      return alg === undefined ? { problem: `${describeKey(key)} is not supported (P-256, P-384, P-521 are)` } : { algorithms: [alg] };
    }
    case 'ed25519':
      return { algorithms: ['EdDSA'] };
    default:
      return { problem: `${describeKey(key)} keys are not supported (RSA, EC, Ed25519 are)` };
  }
}

/** JWT_SECRET as an HS256 key. */
export function secretKey(secret: string): VerificationKey {
  return { source: 'JWT_SECRET', kid: undefined, key: createSecretKey(Buffer.from(secret)), algorithms: ['HS256'] };
}

/** A PEM public key (SPKI or PKCS#1) or X.509 certificate: JWT_PUBLIC_KEY_FILE. A private key is refused. */
export function keyFromPem(pem: string, source = 'JWT_PUBLIC_KEY_FILE'): KeyResult {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    return { ok: false, problem: 'holds a private key: give the public key or the certificate (the server must never hold the signing key)' };
  }
  if (!/-----BEGIN (PUBLIC KEY|RSA PUBLIC KEY|CERTIFICATE)-----/.test(pem)) {
    return { ok: false, problem: 'is not a PEM public key (-----BEGIN PUBLIC KEY-----) or certificate (-----BEGIN CERTIFICATE-----)' };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    return { ok: false, problem: `cannot be read as a public key (${(err as Error).message})` };
  }
  const algs = algorithmsForKey(key);
  if ('problem' in algs) return { ok: false, problem: algs.problem };
  return { ok: true, key: { source, kid: undefined, key, algorithms: algs.algorithms } };
}

/**
 * One key of a JWKS. Kept only if it is a public signature key of a supported type; its `alg`, when
 * given, narrows what it verifies (and must fit its type). Symmetric (`oct`) keys are never taken
 * from a JWKS, and a JWKS that publishes private keys has them refused.
 */
export function keyFromJwk(jwk: JsonWebKey & { kid?: unknown; alg?: unknown; use?: unknown; key_ops?: unknown }): KeyResult {
  const kid = typeof jwk.kid === 'string' ? jwk.kid : undefined;
  const name = kid === undefined ? 'JWKS key without kid' : `JWKS kid ${JSON.stringify(kid).slice(0, 80)}`;
  const skip = (why: string): KeyResult => ({ ok: false, problem: `${name}: ${why}` });
  if (typeof jwk.kty !== 'string') return skip('no kty');
  if (jwk.kty === 'oct') return skip('symmetric keys are not taken from a JWKS');
  if (jwk.d !== undefined) return skip('is a private key: refused');
  if (jwk.use !== undefined && jwk.use !== 'sig') return skip(`use is ${JSON.stringify(jwk.use)}, not "sig"`);
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return skip('key_ops does not include "verify"');
  let key: KeyObject;
  try {
    const { kty, n, e, crv, x, y } = jwk;
    key = createPublicKey({ key: { kty, n, e, crv, x, y } as JsonWebKey, format: 'jwk' });
  } catch (err) {
    return skip(`cannot be read (${(err as Error).message})`);
  }
  const algs = algorithmsForKey(key);
  if ('problem' in algs) return skip(algs.problem);
  let algorithms = algs.algorithms;
  if (jwk.alg !== undefined) {
    if (typeof jwk.alg !== 'string' || !algorithms.includes(jwk.alg)) return skip(`alg ${JSON.stringify(jwk.alg)} does not fit a ${describeKey(key)} key`);
    algorithms = [jwk.alg];
  }
  return { ok: true, key: { source: name, kid, key, algorithms } };
}

const HASH: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

/**
 * Whether `signature` signs `input` (the JWS header and payload, as sent) under `alg` with `k`, which
 * must be one of the key's algorithms. Synchronous, on this thread: a publish is then answered in the
 * callback that read it, which HTTP pipelining needs (see transport/publish-handler.ts). Tens of µs
 * for RSA and EC, a few for HMAC (bench/micro/jwt-verify.ts).
 */
export function signatureValid(alg: string, k: VerificationKey, input: Buffer, signature: Buffer): boolean {
  const hash = HASH[alg.slice(2)];
  try {
    switch (alg.slice(0, 2)) {
      case 'HS': {
        const mac = createHmac(hash!, k.key).update(input).digest();
        return mac.length === signature.length && timingSafeEqual(mac, signature);
      }
      case 'RS':
        return verify(hash, input, k.key, signature);
      case 'PS':
        return verify(hash, input, { key: k.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
      case 'ES':
        // JWS carries r and s side by side (RFC 7518 3.4), not DER
        return verify(hash, input, { key: k.key, dsaEncoding: 'ieee-p1363' }, signature);
      default:
        return alg === 'EdDSA' && verify(null, input, k.key, signature);
    }
  } catch {
    return false; // a signature of the wrong size for the key
  }
}
