// Verifies a JWT against every configured key source (JWT_SECRET, JWT_PUBLIC_KEY_FILE, JWKS_URL):
// any one of them may verify it. The algorithm a token may use is decided by the keys (see
// jwt-keys.ts), narrowed by JWT_ALGORITHMS; the token's header only chooses among them.
// The signature is checked on this thread, synchronously (jwt-keys.ts); then `iss`, `aud`, `exp` and
// `nbf` (with JWT_CLOCK_TOLERANCE_S) by jose's claim rules. So a token is decided in the callback
// that read it, unless an unknown kid makes the JWKS be fetched again.
//
// JWKS states: never reached since start -> a token that only the JWKS could verify gets
// KEYS_UNAVAILABLE (the caller sheds it like overload, so a browser comes back), not a 401;
// reached -> an unknown kid asks for one refetch (rate-limited by the cache), then is refused.
import { decodeProtectedHeader, UnsecuredJWT, type JWTPayload } from 'jose';
import { HttpError } from './errors.js';
import type { JwksFeed } from './jwks-feed.js';
import { ASYMMETRIC_ALGORITHMS, keyFromJwk, keyFromPem, secretKey, signatureValid, type VerificationKey } from './jwt-keys.js';
import { refusalFor, shown, TokenRefused } from './token-claims.js';

/** Tokens longer than this are refused before any parsing. */
export const MAX_TOKEN_BYTES = 8192;
/** A kid-less token is tried against at most this many JWKS keys. */
const MAX_KEYS_TRIED = 8;
/** `{"alg":"none"}`: jose checks the claims of a payload whose signature is already checked as those of an unsecured JWT */
const CHECKED_HEADER = Buffer.from('{"alg":"none"}').toString('base64url');

export interface VerifierOptions {
  secret?: string | undefined;
  publicKeyPem?: string | undefined;
  jwks?: JwksFeed | undefined;
  /** JWT_ALGORITHMS: undefined = whatever the keys allow */
  algorithms?: readonly string[] | undefined;
  issuer?: string | undefined;
  audience?: string | undefined;
  clockToleranceS: number;
}

export class TokenVerifier {
  private readonly staticKeys: VerificationKey[] = [];
  private readonly allowlist: ReadonlySet<string> | undefined;
  private readonly possible: ReadonlySet<string>;
  private jwksVersion = -1;
  private jwksKeys: VerificationKey[] = [];

  constructor(private readonly opts: VerifierOptions) {
    if (opts.secret !== undefined) this.staticKeys.push(secretKey(opts.secret));
    if (opts.publicKeyPem !== undefined) {
      const r = keyFromPem(opts.publicKeyPem);
      // the config has already refused a bad file; a failure here is a bug
      if (!r.ok) throw new Error(`JWT_PUBLIC_KEY_FILE ${r.problem}`);
      this.staticKeys.push(r.key);
    }
    this.allowlist = opts.algorithms === undefined ? undefined : new Set(opts.algorithms);
    const byKeys = new Set([...this.staticKeys.flatMap((k) => k.algorithms), ...(opts.jwks ? ASYMMETRIC_ALGORITHMS : [])]);
    this.possible = new Set([...byKeys].filter((a) => this.allowlist?.has(a) ?? true));
  }

  /** Some key source is configured: tokens are required. */
  get configured(): boolean {
    return this.staticKeys.length > 0 || this.opts.jwks !== undefined;
  }

  /** Algorithms a token may be signed with, given the key sources and JWT_ALGORITHMS. */
  get algorithms(): readonly string[] {
    return [...this.possible];
  }

  /**
   * The verified payload, decided now with the keys at hand; a promise only when a kid the JWKS does
   * not have makes it be fetched again. Throws (now, or through the promise) TokenRefused (401) or
   * HttpError KEYS_UNAVAILABLE (503).
   */
  verify(token: string): JWTPayload | Promise<JWTPayload> {
    if (token.length > MAX_TOKEN_BYTES) {
      throw new TokenRefused(`too long (${token.length} bytes, at most ${MAX_TOKEN_BYTES})`, `token longer than ${MAX_TOKEN_BYTES} bytes`);
    }
    if (!/^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)) throw new TokenRefused('malformed (not a compact JWS)');
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRefused('malformed (header is not JSON)');
    }
    const { alg, kid } = header;
    if (typeof alg !== 'string' || !this.possible.has(alg)) {
      throw new TokenRefused(`alg ${shown(alg)} not allowed (the keys allow ${[...this.possible].join(', ') || 'none'})`);
    }
    if (kid !== undefined && typeof kid !== 'string') throw new TokenRefused('malformed (kid is not a string)');
    // RFC 7515 4.1.11: an extension the token marks critical must be understood; none is here
    if (header.crit !== undefined) throw new TokenRefused(`not supported (crit ${shown(header.crit)}: no extension is understood)`);

    const keys = this.candidates(alg, kid);
    const payload = this.tryKeys(token, alg, keys);
    if (payload !== undefined) return payload;

    const jwks = this.opts.jwks;
    if (jwks !== undefined && ASYMMETRIC_ALGORITHMS.includes(alg)) {
      // Only the JWKS might verify it and we have never seen it: ask the client to come back.
      if (jwks.state().keys === undefined) throw new HttpError('KEYS_UNAVAILABLE');
      if (kid !== undefined && !this.jwksHas(kid)) return this.afterRefetch(token, alg, kid, jwks);
    }
    throw this.unverified(alg, kid, keys);
  }

  /** A kid the JWKS did not have: one refetch (rate-limited by the cache), then the keys it names. */
  private async afterRefetch(token: string, alg: string, kid: string, jwks: JwksFeed): Promise<JWTPayload> {
    await jwks.refetch();
    const keys = this.candidates(alg, kid).filter((k) => k.kid === kid);
    const payload = this.tryKeys(token, alg, keys);
    if (payload !== undefined) return payload;
    if (!this.jwksHas(kid)) throw new TokenRefused(`unknown kid ${shown(kid)}`);
    throw this.unverified(alg, kid, keys);
  }

  /** Why no key verified the token. */
  private unverified(alg: string, kid: string | undefined, keys: readonly VerificationKey[]): TokenRefused {
    if (keys.length === 0) {
      const named = kid === undefined ? undefined : this.currentJwksKeys().find((k) => k.kid === kid);
      if (named !== undefined) return new TokenRefused(`alg ${alg} not allowed for kid ${shown(kid)} (${named.algorithms.join(', ')})`);
      return new TokenRefused(`no key for alg ${alg}`);
    }
    return new TokenRefused(`bad signature (tried ${keys.map((k) => k.source).join(', ')})`);
  }

  /** Keys that may verify `alg`: the JWKS key named by `kid` (or, without kid, the first few that fit), then the static ones. */
  private candidates(alg: string, kid: string | undefined): VerificationKey[] {
    const fits = (k: VerificationKey): boolean => k.algorithms.includes(alg);
    const fromJwks = this.currentJwksKeys().filter((k) => fits(k) && (kid === undefined || k.kid === kid));
    return [...fromJwks.slice(0, MAX_KEYS_TRIED), ...this.staticKeys.filter(fits)];
  }

  /** The payload from the first key whose signature matches; undefined when none does. Claim failures throw. */
  private tryKeys(token: string, alg: string, keys: readonly VerificationKey[]): JWTPayload | undefined {
    const lastDot = token.lastIndexOf('.');
    const input = Buffer.from(token.slice(0, lastDot), 'latin1');
    const signature = Buffer.from(token.slice(lastDot + 1), 'base64url');
    if (!keys.some((k) => signatureValid(alg, k, input, signature))) return undefined;
    try {
      const payloadPart = token.slice(token.indexOf('.') + 1, lastDot);
      return UnsecuredJWT.decode(`${CHECKED_HEADER}.${payloadPart}.`, {
        issuer: this.opts.issuer,
        audience: this.opts.audience,
        clockTolerance: this.opts.clockToleranceS,
      }).payload;
    } catch (err) {
      throw refusalFor(err);
    }
  }

  private jwksHas(kid: string): boolean {
    return this.currentJwksKeys().some((k) => k.kid === kid);
  }

  /** Key objects for the feed's current JWK set, rebuilt only when it changed. */
  private currentJwksKeys(): VerificationKey[] {
    const jwks = this.opts.jwks;
    if (jwks === undefined) return [];
    const state = jwks.state();
    if (state.version !== this.jwksVersion) {
      this.jwksVersion = state.version;
      this.jwksKeys = (state.keys ?? []).flatMap((jwk) => {
        const r = keyFromJwk(jwk);
        return r.ok ? [r.key] : []; // the cache already logged what it skipped
      });
    }
    return this.jwksKeys;
  }
}
