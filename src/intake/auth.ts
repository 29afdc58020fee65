// Who may publish and subscribe. Publishers: PUBLISH_TOKEN, or a JWT whose publish claim covers
// every topic of the request. Subscribers: a JWT whose topics claim covers every requested topic.
// JWTs are verified by token-verifier.ts against every configured key source. Every refusal is
// logged with its reason (refusal-log.ts); tokens never are.
import { timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/config.js';
import { HttpError } from './errors.js';
import type { JwksFeed } from './jwks-feed.js';
import { RefusalLog } from './refusal-log.js';
import { firstUncovered, patternsOf, refusalFor, TokenRefused } from './token-claims.js';
import { MAX_TOKEN_BYTES, TokenVerifier } from './token-verifier.js';

export interface SubscriberGrant {
  /** seconds since the epoch when the stream must close, if the token expires */
  exp?: number;
}

/** Decides, once the body is parsed, whether the publisher may publish to these topics. */
export interface PublisherCheck {
  /**
   * undefined: allowed now (PUBLISH_TOKEN, open publishing, or a JWT the keys at hand verify), so the
   * answer goes out in the same callback and a pipelined request behind it finds none pending; throws
   * 401, 403 or 503 when refused now. A promise only while a kid unknown to the JWKS has it fetched
   * again: it resolves when allowed and rejects with the refusal.
   */
  allow(topics: readonly string[]): Promise<void> | undefined;
}

const OPEN: PublisherCheck = { allow: () => undefined };
/** Retry-After for a publisher while the JWKS has never been reached */
const KEYS_RETRY_AFTER_S = 5;

export function bearer(authorization: string): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization);
  return m?.[1];
}

export function cookie(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return percentDecoded(part.slice(eq + 1).trim());
  }
  return undefined;
}

/**
 * A subscriber's token: the first non-empty of Authorization: Bearer, the sse_token cookie, ?token=.
 * An empty value is no credential (a cookie cleared to `sse_token=` must not hide a valid ?token=).
 */
export function subscriberToken(authorization: string, cookies: string, params: URLSearchParams): string | undefined {
  for (const token of [bearer(authorization), cookie(cookies, 'sse_token'), params.get('token')]) if (token) return token;
  return undefined;
}

/** The shape of a compact JWS within the size cap; the verifier checks the rest. */
function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_BYTES && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token);
}

/** A malformed escape is kept as it is: the token then fails verification (401), never a URIError (500). */
function percentDecoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export class Auth {
  private readonly publishToken: Buffer | undefined;
  private readonly verifier: TokenVerifier;

  constructor(
    private readonly config: Config,
    private readonly jwks?: JwksFeed,
    private readonly log = new RefusalLog(),
  ) {
    this.publishToken = config.publishToken === undefined ? undefined : Buffer.from(config.publishToken);
    this.verifier = new TokenVerifier({
      secret: config.jwtSecret,
      publicKeyPem: config.jwtPublicKeyPem,
      jwks: config.jwksUrl === undefined ? undefined : jwks,
      algorithms: config.jwtAlgorithms,
      issuer: config.jwtIssuer,
      audience: config.jwtAudience,
      clockToleranceS: config.jwtClockToleranceS,
    });
    if (config.jwksUrl !== undefined && jwks === undefined) throw new Error('JWKS_URL is set but no JWKS feed was given');
  }

  get subscribersNeedToken(): boolean {
    return this.verifier.configured;
  }

  /** For /healthz: why tokens cannot all be verified now (the JWKS was never reached), if so. */
  healthProblem(): string | undefined {
    if (this.config.jwksUrl === undefined || this.jwks === undefined) return undefined;
    const state = this.jwks.state();
    return state.keys === undefined ? (state.problem ?? 'JWKS not loaded yet') : undefined;
  }

  /**
   * Before the body is read. Publishing is open only when neither PUBLISH_TOKEN nor a key source is
   * configured. PUBLISH_TOKEN allows every topic; a JWT is checked against the topics once they are
   * known. Throws 401 at once when no token could pass (the caller closes the connection).
   */
  checkPublisher(authorization: string): PublisherCheck {
    const jwtPossible = this.verifier.configured;
    if (this.publishToken === undefined && !jwtPossible) return OPEN;
    const token = bearer(authorization);
    if (token !== undefined && this.publishToken !== undefined) {
      const given = Buffer.from(token);
      if (given.length === this.publishToken.length && timingSafeEqual(given, this.publishToken)) return OPEN;
    }
    // what cannot be a JWT is refused now, before the body is read
    if (token === undefined || !jwtPossible || !looksLikeJwt(token)) {
      const need = [this.publishToken !== undefined ? 'Bearer <PUBLISH_TOKEN>' : '', jwtPossible ? 'Bearer <publisher JWT>' : ''].filter(Boolean);
      const why = token === undefined ? 'no bearer token' : jwtPossible ? 'neither the publish token nor a JWT' : 'wrong publish token';
      this.log.refused('POST /publish', 401, why);
      throw new HttpError('UNAUTHORIZED', `POST /publish needs Authorization: ${need.join(' or ')}`);
    }
    return {
      allow: (topics) => {
        const verified = this.verify(token, 'POST /publish');
        return verified instanceof Promise ? verified.then((payload) => this.mayPublish(payload, topics)) : this.mayPublish(verified, topics);
      },
    };
  }

  /** 403 unless the token's publish claim covers every topic. */
  private mayPublish(payload: JWTPayload, topics: readonly string[]): undefined {
    const claim = this.config.jwtPublishClaim;
    const patterns = this.claimOrRefuse(payload, claim, 'POST /publish');
    if (patterns === undefined) {
      this.log.refused('POST /publish', 403, `token has no ${JSON.stringify(claim)} claim`);
      throw new HttpError('FORBIDDEN', `token has no "${claim}" claim: it may not publish`);
    }
    const topic = firstUncovered(patterns, topics);
    if (topic !== undefined) {
      this.log.refused('POST /publish', 403, `token does not allow publishing to ${topic}`);
      throw new HttpError('FORBIDDEN', `token does not allow publishing to topic ${topic}`);
    }
    return undefined;
  }

  /** 401 for a missing, malformed, badly signed or expired token; 403 when it does not cover a topic; 503 KEYS_UNAVAILABLE. */
  async checkSubscriber(token: string | undefined, topics: Iterable<string>): Promise<SubscriberGrant> {
    if (!this.verifier.configured) return {};
    if (token === undefined) {
      this.log.refused('GET /events', 401, 'no token');
      throw new HttpError('UNAUTHORIZED', 'a subscriber token is required: Authorization: Bearer, the sse_token cookie, or ?token=');
    }
    const payload = await this.verify(token, 'GET /events');
    const claim = this.config.jwtTopicsClaim;
    const patterns = this.claimOrRefuse(payload, claim, 'GET /events');
    if (patterns === undefined) {
      this.log.refused('GET /events', 401, `token has no ${JSON.stringify(claim)} claim`);
      throw new HttpError('UNAUTHORIZED', `token has no "${claim}" claim (an array of topic patterns)`);
    }
    const topic = firstUncovered(patterns, topics);
    if (topic !== undefined) {
      this.log.refused('GET /events', 403, `token does not allow topic ${topic}`);
      throw new HttpError('FORBIDDEN', `token does not allow topic ${topic}`);
    }
    return typeof payload.exp === 'number' ? { exp: payload.exp } : {};
  }

  /** The verifier's answer (now, or a promise while the JWKS is fetched again), its refusals logged. */
  private verify(token: string, what: string): JWTPayload | Promise<JWTPayload> {
    const refused = (err: unknown): never => {
      throw this.refusal(err, what);
    };
    try {
      const verified = this.verifier.verify(token);
      return verified instanceof Promise ? verified.catch(refused) : verified;
    } catch (err) {
      return refused(err);
    }
  }

  private refusal(err: unknown, what: string): HttpError {
    if (err instanceof HttpError && err.code === 'KEYS_UNAVAILABLE') {
      this.log.refused(what, 503, 'JWKS not loaded yet: the client is asked to retry');
      return new HttpError('KEYS_UNAVAILABLE', undefined, KEYS_RETRY_AFTER_S);
    }
    const refusal = refusalFor(err);
    this.log.refused(what, refusal.status, refusal.reason);
    return refusal;
  }

  private claimOrRefuse(payload: JWTPayload, claim: string, what: string): string[] | undefined {
    try {
      return patternsOf(payload, claim);
    } catch (err) {
      if (err instanceof TokenRefused) this.log.refused(what, err.status, err.reason);
      throw err;
    }
  }
}
