// When and whether the client connects again, as pure functions of what happened (no timers, no
// fetch), so the rules are tested without a browser.

/** How one connection attempt ended. */
export type Outcome =
  /** the server ended an open stream (a restart, a drain, the token's exp): come back after its retry: */
  | { kind: 'ended' }
  /** fetch failed, or the stream broke mid-read, or the token could not be fetched */
  | { kind: 'network' }
  /** the client ended the stream itself to reconnect with a fresh token before its exp */
  | { kind: 'renew' }
  /** an answer that is not an event stream */
  | { kind: 'status'; status: number; contentType: string; body: string };

export type Step = { retry: true; delayMs: number } | { retry: false; error: ClientError };

/** A final error: the client stops and says why. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    message: string,
    /** the HTTP status, when the server answered */
    readonly status?: number,
    /** the server's error code ({"error", "code"} body), when it sent one */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** ceiling of the back-off after failures, in ms */
export const MAX_BACKOFF_MS = 30_000;
/** statuses worth trying again: the server or a proxy is busy or briefly unavailable */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

export interface ReconnectState {
  /** the server's retry: (or the default), in ms */
  retryMs: number;
  /** failed attempts in a row, this one included (0 after an ended stream) */
  failures: number;
  /** a number in [0, 1): Math.random in the client, fixed in tests */
  random: number;
}

/** The delay after `failures` failed attempts in a row: doubling from retryMs, capped, jittered into [½, 1] of it so a crowd spreads out. */
export function backoffMs(retryMs: number, failures: number, random: number): number {
  const full = Math.min(MAX_BACKOFF_MS, retryMs * 2 ** Math.min(Math.max(failures - 1, 0), 16));
  return Math.round(full * (0.5 + random / 2));
}

export function nextStep(outcome: Outcome, s: ReconnectState): Step {
  switch (outcome.kind) {
    case 'renew':
      return { retry: true, delayMs: 0 }; // from the last id seen: nothing is missed in between
    case 'ended':
      return { retry: true, delayMs: s.retryMs }; // as EventSource: the server's retry:, which it jitters itself
    case 'network':
      return { retry: true, delayMs: backoffMs(s.retryMs, s.failures, s.random) };
    case 'status':
      return statusStep(outcome, s);
  }
}

function statusStep(o: Extract<Outcome, { kind: 'status' }>, s: ReconnectState): Step {
  if (o.status === 200) return final(o, `the server answered 200 with Content-Type "${o.contentType}", not text/event-stream`);
  if (TRANSIENT.has(o.status)) return { retry: true, delayMs: backoffMs(s.retryMs, s.failures, s.random) };
  const what = o.status === 401 ? 'the token is missing or not valid' : o.status === 403 ? 'the token does not allow these topics' : 'the stream was refused';
  return final(o, `${what} (${o.status})`);
}

function final(o: Extract<Outcome, { kind: 'status' }>, message: string): Step {
  let detail: { error?: unknown; code?: unknown } = {};
  try {
    detail = JSON.parse(o.body) as typeof detail;
  } catch {
    // not the server's JSON error (a proxy's page): the status says enough
  }
  const said = typeof detail.error === 'string' ? `: ${detail.error}` : '';
  return { retry: false, error: new ClientError(message + said, o.status, typeof detail.code === 'string' ? detail.code : undefined) };
}

/** `exp` of a JWT (seconds since the epoch), read without verifying it; undefined when it has none. */
export function tokenExp(token: string): number | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
  } catch {
    return undefined;
  }
}

/** how long before exp the client reconnects with a fresh token: a tenth of the token's remaining life, 1 to 30 s */
export function renewMarginMs(lifeMs: number): number {
  return Math.min(30_000, Math.max(1_000, lifeMs / 10));
}

/**
 * In how many ms to reconnect with a fresh token, or undefined for never: a token without exp, or
 * one too close to its exp (getToken gave the same token again: the server ends the stream at exp
 * and the client comes back as after any end, rather than reconnect in a loop).
 */
export function renewDelayMs(token: string | undefined, nowMs: number): number | undefined {
  const exp = token === undefined ? undefined : tokenExp(token);
  if (exp === undefined) return undefined;
  const life = exp * 1000 - nowMs;
  const delay = life - renewMarginMs(life);
  return delay > 0 ? delay : undefined;
}
