// Who may publish and subscribe. Publishers: PUBLISH_TOKEN, or a JWT whose publish claim covers
// every topic of the request. Subscribers: a JWT whose topics claim covers every requested topic.
// `$presence` names every topic that has subscribers, so its subscribers need what an unrestricted
// GET /topics needs: PUBLISH_TOKEN, or a JWT whose publish claim covers every topic (`*`).
// JWTs are verified by token-verifier.ts against every configured key source. Every refusal is
// logged with its reason (refusal-log.ts); tokens never are.
import { timingSafeEqual } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { Config } from '../config/config.js';
import { HttpError } from './errors.js';
import type { JwksFeed } from './jwks-feed.js';
import { RefusalLog } from './refusal-log.js';
import { coversEveryTopic, firstUncovered, patternsOf, refusalFor, TokenRefused } from './token-claims.js';
import { PRESENCE_TOPIC } from './topics.js';
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
  /**
   * The topics the publisher may see (GET /topics): undefined for every topic (PUBLISH_TOKEN, or
   * publishing open); the JWT's publish patterns, refused like allow().
   */
  patterns(): readonly string[] | Promise<readonly string[]> | undefined;
}

const OPEN: PublisherCheck = { allow: () => undefined, patterns: () => undefined };
/** Why a `$presence` stream was refused: it shows every topic's count, as GET /topics does. */
const PRESENCE_NEEDS = '$presence carries the subscriber counts of every topic: it needs the credential of GET /topics, PUBLISH_TOKEN or a publisher JWT for every topic';
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
    if (token !== undefined && this.isPublishToken(token)) return OPEN;
    // what cannot be a JWT is refused now, before the body is read
    if (token === undefined || !jwtPossible || !looksLikeJwt(token)) {
      const need = [this.publishToken !== undefined ? 'Bearer <PUBLISH_TOKEN>' : '', jwtPossible ? 'Bearer <publisher JWT>' : ''].filter(Boolean);
      const why = token === undefined ? 'no bearer token' : jwtPossible ? 'neither the publish token nor a JWT' : 'wrong publish token';
      this.log.refused('POST /publish', 401, why);
      throw new HttpError('UNAUTHORIZED', `POST /publish needs Authorization: ${need.join(' or ')}`);
    }
    return {
      allow: (topics) => {
        const patterns = this.publishPatterns(token);
        return patterns instanceof Promise ? patterns.then((p) => this.mayPublish(p, topics)) : this.mayPublish(patterns, topics);
      },
      patterns: () => this.publishPatterns(token),
    };
  }

  /** 403 unless the publish patterns cover every topic. */
  private mayPublish(patterns: readonly string[], topics: readonly string[]): undefined {
    const topic = firstUncovered(patterns, topics);
    if (topic !== undefined) {
      this.log.refused('POST /publish', 403, `token does not allow publishing to ${topic}`);
      throw new HttpError('FORBIDDEN', `token does not allow publishing to topic ${topic}`);
    }
    return undefined;
  }

  /** Whether a stream on these topics must present a token (checkSubscriber says which). */
  needsToken(topics: readonly string[]): boolean {
    return this.verifier.configured || (this.publishToken !== undefined && topics.includes(PRESENCE_TOPIC));
  }

  /**
   * 401 for a missing, malformed, badly signed or expired token; 403 when it does not cover a topic
   * (or, for `$presence`, when it may not see every topic); 503 KEYS_UNAVAILABLE.
   */
  async checkSubscriber(token: string | undefined, topics: readonly string[]): Promise<SubscriberGrant> {
    const named = topics.filter((t) => t !== PRESENCE_TOPIC);
    const presence = named.length < topics.length;
    const presenceByPublishToken = presence && token !== undefined && this.isPublishToken(token);
    if (!this.verifier.configured || (presenceByPublishToken && named.length === 0)) {
      if (presence && this.publishToken !== undefined && !presenceByPublishToken) {
        this.log.refused('GET /events', 401, token === undefined ? 'no token for $presence' : 'wrong publish token for $presence');
        throw new HttpError('UNAUTHORIZED', `${PRESENCE_NEEDS}: Authorization: Bearer, the sse_token cookie, or ?token=`);
      }
      return {};
    }
    if (token === undefined) {
      this.log.refused('GET /events', 401, 'no token');
      throw new HttpError('UNAUTHORIZED', 'a subscriber token is required: Authorization: Bearer, the sse_token cookie, or ?token=');
    }
    const payload = await this.verify(token, 'GET /events');
    if (named.length > 0) this.checkTopicsClaim(payload, named);
    if (presence && !presenceByPublishToken) this.checkSeesEveryTopic(payload);
    return typeof payload.exp === 'number' ? { exp: payload.exp } : {};
  }

  private isPublishToken(token: string): boolean {
    if (this.publishToken === undefined) return false;
    const given = Buffer.from(token);
    return given.length === this.publishToken.length && timingSafeEqual(given, this.publishToken);
  }

  /** A publisher JWT's patterns (now, or a promise while the JWKS is fetched again): 401 or 503 as verify(), 403 without the publish claim. */
  private publishPatterns(token: string): readonly string[] | Promise<readonly string[]> {
    const verified = this.verify(token, 'POST /publish');
    return verified instanceof Promise ? verified.then((payload) => this.publishClaim(payload)) : this.publishClaim(verified);
  }

  private publishClaim(payload: JWTPayload): readonly string[] {
    const claim = this.config.jwtPublishClaim;
    const patterns = this.claimOrRefuse(payload, claim, 'POST /publish');
    if (patterns === undefined) {
      this.log.refused('POST /publish', 403, `token has no ${JSON.stringify(claim)} claim`);
      throw new HttpError('FORBIDDEN', `token has no "${claim}" claim: it may not publish`);
    }
    return patterns;
  }

  private checkTopicsClaim(payload: JWTPayload, topics: readonly string[]): void {
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
  }

  /** `$presence` with a JWT: its publish claim must cover every topic, as GET /topics would list them all. */
  private checkSeesEveryTopic(payload: JWTPayload): void {
    const claim = this.config.jwtPublishClaim;
    const patterns = this.claimOrRefuse(payload, claim, 'GET /events');
    if (patterns === undefined || !coversEveryTopic(patterns)) {
      this.log.refused('GET /events', 403, `$presence needs a ${JSON.stringify(claim)} claim covering every topic`);
      throw new HttpError('FORBIDDEN', `${PRESENCE_NEEDS} (the "${claim}" claim must hold "*")`);
    }
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
