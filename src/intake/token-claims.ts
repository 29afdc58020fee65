// What a verified token grants (topic patterns in a claim whose name is configured), and why a token
// was refused, in words for the log and in fewer words for the client. Never the token itself.
import { errors as joseErrors, type JWTPayload } from 'jose';
import { HttpError } from './errors.js';
import { compileTopicPatterns } from './topics.js';

/** A refused token: the client reads `message`; the server log reads `reason`. */
export class TokenRefused extends HttpError {
  constructor(
    readonly reason: string,
    message = 'token invalid',
    code: 'UNAUTHORIZED' | 'FORBIDDEN' = 'UNAUTHORIZED',
  ) {
    super(code, message);
  }
}

/** A claim value for a log line: JSON, escaped, at most 80 characters. */
export function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The topic patterns in `claim`, an array of strings; undefined when the claim is absent. */
export function patternsOf(payload: JWTPayload, claim: string): string[] | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (Array.isArray(value) && value.every((p): p is string => typeof p === 'string')) return value;
  throw new TokenRefused(`claim ${shown(claim)} is not an array of strings`, `the token's "${claim}" claim must be an array of topic patterns`);
}

/** The first of `topics` the patterns do not cover, or undefined when they cover all. */
export function firstUncovered(patterns: readonly string[], topics: Iterable<string>): string | undefined {
  const allowed = compileTopicPatterns(patterns);
  for (const topic of topics) if (!allowed(topic)) return topic;
  return undefined;
}

/** Whether the patterns cover every topic there can be: one of them is all wildcard (`*`). */
export function coversEveryTopic(patterns: readonly string[]): boolean {
  return patterns.some((p) => /^\*+$/.test(p));
}

/** A jose verification error as a refusal: expired, not yet valid, wrong issuer, ... */
export function refusalFor(err: unknown): TokenRefused {
  if (err instanceof TokenRefused) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenRefused('expired', 'token expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    const got = (claim: string): string => shown(err.payload[claim]);
    switch (err.claim) {
      case 'nbf':
        return new TokenRefused(`not yet valid (nbf ${got('nbf')})`, 'token not yet valid');
      case 'iss':
        return new TokenRefused(`wrong issuer (iss ${got('iss')})`);
      case 'aud':
        return new TokenRefused(`wrong audience (aud ${got('aud')})`);
      default:
        return new TokenRefused(`claim ${shown(err.claim)} ${err.reason}`);
    }
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new TokenRefused('alg not allowed');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return new TokenRefused('bad signature');
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return new TokenRefused(`malformed (${err.message})`);
  if (err instanceof joseErrors.JOSENotSupported) return new TokenRefused(`not supported (${err.message})`);
  return new TokenRefused(`invalid (${err instanceof Error ? err.constructor.name : typeof err})`);
}
