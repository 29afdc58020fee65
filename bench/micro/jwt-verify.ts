// What access control costs per stream open (src/intake/token-verifier.ts + token-claims.ts): a
// realistic subscriber token (iss, aud, exp, kid, a topics claim) verified and its topics checked,
// per algorithm. RS256 (RSA 2048), ES256 (P-256) and EdDSA (Ed25519) come from a JWKS key picked by
// kid, HS256 from JWT_SECRET. The signature is checked synchronously on the calling thread
// (node:crypto; jwt-keys.ts), so wall time per open is that thread's CPU as well.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import type { JwksFeed, PublicJwk } from '../../src/intake/jwks-feed.js';
import { firstUncovered, patternsOf } from '../../src/intake/token-claims.js';
import { TokenVerifier } from '../../src/intake/token-verifier.js';
import type { MicroTask } from './micro-task.js';

const ISSUER = 'https://idp.example.com/realms/bench';
const AUDIENCE = 'sse';
const SECRET = 'bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const TOPICS = ['news.eu'];

interface Case {
  alg: string;
  describe: string;
  sign: KeyObject | Uint8Array;
  jwk?: PublicJwk;
}

function cases(): Case[] {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ed = generateKeyPairSync('ed25519');
  const jwk = (k: KeyObject, kid: string): PublicJwk => ({ ...(k.export({ format: 'jwk' }) as PublicJwk), kid });
  return [
    { alg: 'RS256', describe: 'RS256 (RSA 2048, JWKS kid)', sign: rsa.privateKey, jwk: jwk(rsa.publicKey, 'rs') },
    { alg: 'ES256', describe: 'ES256 (P-256, JWKS kid)', sign: ec.privateKey, jwk: jwk(ec.publicKey, 'es') },
    { alg: 'EdDSA', describe: 'EdDSA (Ed25519, JWKS kid)', sign: ed.privateKey, jwk: jwk(ed.publicKey, 'ed') },
    { alg: 'HS256', describe: 'HS256 (JWT_SECRET)', sign: new TextEncoder().encode(SECRET) },
  ];
}

export async function jwtVerifyTasks(): Promise<MicroTask[]> {
  const all = cases();
  const keys = all.flatMap((c) => (c.jwk ? [c.jwk] : []));
  const jwks: JwksFeed = { state: () => ({ keys, problem: undefined, version: 1 }), refetch: () => Promise.resolve() };
  const verifier = new TokenVerifier({ secret: SECRET, jwks, issuer: ISSUER, audience: AUDIENCE, clockToleranceS: 5 });
  const tasks: MicroTask[] = [];
  for (const c of all) {
    const token = await new SignJWT({ topics: ['news.*', 'sports'], sub: 'user-42' })
      .setProtectedHeader({ alg: c.alg, ...(c.jwk?.kid ? { kid: c.jwk.kid } : {}), typ: 'JWT' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(c.sign);
    // a wrong token would make the benchmark measure refusals: check once
    await verifier.verify(token);
    tasks.push({
      group: 'jwt-verify',
      name: `verify a subscriber token and check its topics, ${c.describe}`,
      ops: 1,
      unit: 'stream open',
      async: true,
      fn: async () => {
        const payload = await verifier.verify(token);
        if (firstUncovered(patternsOf(payload, 'topics') ?? [], TOPICS) !== undefined) throw new Error('not covered');
      },
    });
  }
  return tasks;
}
