// The client's reconnect rules as pure functions: what follows each way a connection can end, the
// back-off after failures, and when a token is renewed.
import { describe, expect, it } from 'vitest';
import { backoffMs, ClientError, MAX_BACKOFF_MS, nextStep, renewDelayMs, tokenExp, type Outcome } from '../../../src/client/reconnect.js';

const state = { retryMs: 1000, failures: 0, random: 0.5 };
const status = (s: number, body = '', contentType = 'application/json'): Outcome => ({ kind: 'status', status: s, contentType, body });

/** an unsigned JWT: the client reads exp without verifying (the server verifies) */
function jwt(payload: object): string {
  const part = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256' })}.${part(payload)}.signature`;
}

describe('client reconnect rules', () => {
  it("after the server ends a stream, waits the server's retry: exactly (the server jitters it)", () => {
    expect(nextStep({ kind: 'ended' }, { ...state, random: 0 })).toEqual({ retry: true, delayMs: 1000 });
    expect(nextStep({ kind: 'ended' }, { ...state, random: 0.99 })).toEqual({ retry: true, delayMs: 1000 });
  });

  it('a renewal reconnects at once', () => {
    expect(nextStep({ kind: 'renew' }, state)).toEqual({ retry: true, delayMs: 0 });
  });

  it('network errors back off: doubling per failure from retry:, jittered into [1/2, 1], capped', () => {
    expect(backoffMs(1000, 1, 0)).toBe(500);
    expect(backoffMs(1000, 1, 0.999999)).toBe(1000);
    expect(backoffMs(1000, 2, 0)).toBe(1000);
    expect(backoffMs(1000, 3, 0)).toBe(2000);
    expect(backoffMs(1000, 50, 0.999999)).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(1000, 50, 0)).toBe(MAX_BACKOFF_MS / 2);
    expect(nextStep({ kind: 'network' }, { retryMs: 1000, failures: 3, random: 0.5 })).toEqual({ retry: true, delayMs: 3000 });
  });

  it.each([408, 429, 500, 502, 503, 504])('%i is transient: back off and retry', (s) => {
    expect(nextStep(status(s), { ...state, failures: 1 })).toEqual({ retry: true, delayMs: 750 });
  });

  it.each([
    [401, 'the token is missing or not valid (401): missing token', 'UNAUTHORIZED'],
    [403, 'the token does not allow these topics (403): topic not allowed', 'FORBIDDEN'],
  ])('%i is final, with the server\'s message and code', (s, message, code) => {
    const step = nextStep(status(s, JSON.stringify({ error: message.split(': ')[1], code })), state);
    expect(step.retry).toBe(false);
    const error = (step as { error: ClientError }).error;
    expect(error).toBeInstanceOf(ClientError);
    expect(error.message).toBe(message);
    expect(error.status).toBe(s);
    expect(error.code).toBe(code);
  });

  it('other refusals and a 200 that is not an event stream are final too (as EventSource)', () => {
    expect(nextStep(status(400, '{"error":"bad topic","code":"BAD_TOPIC"}'), state)).toMatchObject({ retry: false, error: { status: 400, code: 'BAD_TOPIC' } });
    expect(nextStep(status(404, '<html>not found</html>', 'text/html'), state)).toMatchObject({ retry: false, error: { status: 404, code: undefined } });
    expect(nextStep(status(200, '<html>', 'text/html'), state)).toMatchObject({
      retry: false,
      error: { message: 'the server answered 200 with Content-Type "text/html", not text/event-stream' },
    });
  });

  it("reads a JWT's exp without verifying it; none for other strings", () => {
    expect(tokenExp(jwt({ exp: 1_900_000_000, topics: ['*'] }))).toBe(1_900_000_000);
    expect(tokenExp(jwt({ topics: ['*'] }))).toBeUndefined();
    expect(tokenExp(jwt({ exp: 'soon' }))).toBeUndefined();
    expect(tokenExp('not-a-jwt')).toBeUndefined();
    expect(tokenExp('a.!!!.c')).toBeUndefined();
    // base64url characters that plain base64 spells differently (- and _), and no padding
    expect(tokenExp(jwt({ exp: 1_900_000_000, sub: '\u00ff\u00fe?>' }))).toBe(1_900_000_000);
  });

  it('renews a tenth of the remaining life before exp, at least 1 s and at most 30 s before', () => {
    const now = 1_000_000_000_000;
    const exp = (inMs: number): string => jwt({ exp: (now + inMs) / 1000 });
    expect(renewDelayMs(exp(10_000), now)).toBe(9_000);
    expect(renewDelayMs(exp(100_000), now)).toBe(90_000);
    expect(renewDelayMs(exp(3_600_000), now)).toBe(3_570_000);
    expect(renewDelayMs(exp(5_000), now)).toBe(4_000);
  });

  it('never renews a token without exp, or one too close to exp (getToken returning the same token must not loop)', () => {
    const now = 1_000_000_000_000;
    expect(renewDelayMs(undefined, now)).toBeUndefined();
    expect(renewDelayMs(jwt({ topics: ['*'] }), now)).toBeUndefined();
    expect(renewDelayMs(jwt({ exp: (now + 900) / 1000 }), now)).toBeUndefined();
    expect(renewDelayMs(jwt({ exp: (now - 5_000) / 1000 }), now)).toBeUndefined();
  });
});
