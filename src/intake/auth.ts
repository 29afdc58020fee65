// Publisher bearer token and subscriber JWTs (HS256, via `jose`). Tokens are never logged.
import { timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Config } from '../config/config.js';
import { HttpError } from './errors.js';
import { compileTopicPatterns } from './topics.js';

export interface SubscriberGrant {
  /** seconds since the epoch when the stream must close, if the token expires */
  exp?: number;
}

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
  private readonly jwtKey: Uint8Array | undefined;

  constructor(config: Config) {
    this.publishToken = config.publishToken === undefined ? undefined : Buffer.from(config.publishToken);
    this.jwtKey = config.jwtSecret === undefined ? undefined : new TextEncoder().encode(config.jwtSecret);
  }

  get subscribersNeedToken(): boolean {
    return this.jwtKey !== undefined;
  }

  checkPublisher(authorization: string): void {
    if (this.publishToken === undefined) return;
    const given = Buffer.from(bearer(authorization) ?? '');
    if (given.length !== this.publishToken.length || !timingSafeEqual(given, this.publishToken)) {
      throw new HttpError('UNAUTHORIZED', 'POST /publish needs Authorization: Bearer <PUBLISH_TOKEN>');
    }
  }

  /** 401 for a missing, malformed, badly signed or expired token; 403 when it does not cover a topic. */
  async checkSubscriber(token: string | undefined, topics: Iterable<string>): Promise<SubscriberGrant> {
    if (this.jwtKey === undefined) return {};
    if (token === undefined) {
      throw new HttpError('UNAUTHORIZED', 'a subscriber token is required: Authorization: Bearer, the sse_token cookie, or ?token=');
    }
    let payload;
    try {
      ({ payload } = await jwtVerify(token, this.jwtKey, { algorithms: ['HS256'] }));
    } catch (err) {
      const why = err instanceof joseErrors.JWTExpired ? 'token expired' : 'token invalid';
      throw new HttpError('UNAUTHORIZED', why);
    }
    const patterns = payload['topics'];
    if (!Array.isArray(patterns) || !patterns.every((p): p is string => typeof p === 'string')) {
      throw new HttpError('UNAUTHORIZED', 'token has no "topics" claim (an array of topic patterns)');
    }
    const allowed = compileTopicPatterns(patterns);
    for (const topic of topics) {
      if (!allowed(topic)) throw new HttpError('FORBIDDEN', `token does not allow topic ${topic}`);
    }
    return payload.exp === undefined ? {} : { exp: payload.exp };
  }
}
