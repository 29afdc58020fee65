// JWKS_URL, fetched once per process, in the main thread:
// - refreshed every JWKS_CACHE_S, so a key removed at the provider stops working within that time;
// - a token with an unknown kid may trigger one fetch now, at most one per 10 s (a stream of forged
//   kids cannot turn into a stream of requests to the provider);
// - a failed fetch keeps the last good keys (they go on verifying while the provider is down) and
//   is retried with backoff; until the first success the state says why, and verifiers shed
//   instead of refusing (see token-verifier.ts).
// Listeners hear of every change (the shard pool forwards it to the shards).
import { redactCredentials } from '../config/urls.js';
import { keyFromJwk } from './jwt-keys.js';
import { JWKS_NOT_FETCHED, type JwksFeed, type JwksState, type PublicJwk } from './jwks-feed.js';

export const KID_REFETCH_MIN_MS = 10_000;
const FETCH_TIMEOUT_MS = 5_000;
const MAX_JWKS_BYTES = 1_048_576;
/** retry delays after a failure: while never loaded (a fresh start should not wait long), and after */
const RETRY_UNLOADED_MAX_MS = 5_000;
const RETRY_LOADED_MAX_MS = 30_000;

export interface JwksCacheOptions {
  url: string;
  cacheS: number;
  kidRefetchMinMs?: number;
  log?: (line: string) => void;
}

/** The URL without credentials or query, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/**
 * fetch() says only "fetch failed"; the cause says what (ECONNREFUSED, ENOTFOUND, a timeout). Some
 * messages quote a URL: its credentials are masked, as this text goes to the log and /healthz.
 */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return redactCredentials(String(err));
  const cause = err.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return redactCredentials(detail === undefined ? err.message : `${err.message}: ${detail}`);
}

export class JwksCache implements JwksFeed {
  private current: JwksState = JWKS_NOT_FETCHED;
  private readonly listeners: Array<(state: JwksState) => void> = [];
  private inFlight: Promise<void> | undefined;
  private lastKidRefetch = -Infinity;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastProblemLogged: string | undefined;
  private readonly shownUrl: string;
  private readonly log: (line: string) => void;

  constructor(private readonly opts: JwksCacheOptions) {
    this.shownUrl = redactUrl(opts.url);
    this.log = opts.log ?? ((line) => console.error(line));
  }

  /** The first fetch; resolves when it has succeeded or failed (then retries run in the background). */
  start(): Promise<void> {
    return this.fetchNow();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  onChange(listener: (state: JwksState) => void): void {
    this.listeners.push(listener);
  }

  state(): JwksState {
    return this.current;
  }

  get loaded(): boolean {
    return this.current.keys !== undefined;
  }

  refetch(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    const now = performance.now();
    if (now - this.lastKidRefetch < (this.opts.kidRefetchMinMs ?? KID_REFETCH_MIN_MS)) return Promise.resolve();
    this.lastKidRefetch = now;
    return this.fetchNow();
  }

  private fetchNow(): Promise<void> {
    if (this.inFlight !== undefined) return this.inFlight;
    clearTimeout(this.timer);
    this.inFlight = this.load().then(
      (keys) => this.succeeded(keys),
      (err: unknown) => this.failed(describeError(err)),
    ).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async load(): Promise<{ keys: PublicJwk[]; skipped: string[] }> {
    const res = await fetch(this.opts.url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    if (Number(res.headers.get('content-length') ?? 0) > MAX_JWKS_BYTES) {
      await res.body?.cancel();
      throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    }
    const text = await res.text();
    if (text.length > MAX_JWKS_BYTES) throw new Error(`larger than ${MAX_JWKS_BYTES} bytes`);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new Error('not JSON');
    }
    const keys = (doc as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new Error('not a JWKS (no "keys" array)');
    const usable: PublicJwk[] = [];
    const skipped: string[] = [];
    for (const jwk of keys) {
      if (typeof jwk !== 'object' || jwk === null) continue;
      const r = keyFromJwk(jwk as Record<string, unknown>);
      if (!r.ok) {
        skipped.push(r.problem);
        continue;
      }
      const { kty, n, e, crv, x, y, kid, alg } = jwk as PublicJwk;
      usable.push(JSON.parse(JSON.stringify({ kty, n, e, crv, x, y, kid, alg })) as PublicJwk);
    }
    if (usable.length === 0) throw new Error(`no usable signature key among ${keys.length}${skipped.length ? ` (${skipped.join('; ')})` : ''}`);
    return { keys: usable, skipped };
  }

  private succeeded({ keys, skipped }: { keys: PublicJwk[]; skipped: string[] }): void {
    this.failures = 0;
    const changed = this.current.keys === undefined || JSON.stringify(this.current.keys) !== JSON.stringify(keys);
    if (changed) {
      const kids = keys.map((k) => `${k.kid ?? '(no kid)'}${k.alg ? ` ${k.alg}` : ''}`).join(', ');
      this.log(`JWKS ${this.shownUrl}: ${keys.length} key(s) in force: ${kids}`);
      for (const s of skipped) this.log(`JWKS ${this.shownUrl}: skipped ${s}`);
      this.publish({ keys, problem: undefined, version: this.current.version + 1 });
    }
    this.lastProblemLogged = undefined;
    this.schedule(this.opts.cacheS * 1000);
  }

  private failed(why: string): void {
    this.failures++;
    const loaded = this.current.keys !== undefined;
    const line = loaded
      ? `JWKS ${this.shownUrl} unreachable (${why}): the ${this.current.keys!.length} cached key(s) stay in force`
      : `JWKS ${this.shownUrl} not reached yet (${why}): subscribers are asked to retry`;
    if (line !== this.lastProblemLogged) this.log(line);
    this.lastProblemLogged = line;
    if (!loaded) {
      const problem = `JWKS not loaded yet: ${why}`;
      if (problem !== this.current.problem) this.publish({ keys: undefined, problem, version: this.current.version + 1 });
    }
    const backoff = 500 * 2 ** Math.min(this.failures - 1, 10);
    this.schedule(loaded ? Math.min(backoff, RETRY_LOADED_MAX_MS, this.opts.cacheS * 1000) : Math.min(backoff, RETRY_UNLOADED_MAX_MS));
  }

  private publish(state: JwksState): void {
    this.current = state;
    for (const l of this.listeners) l(state);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fetchNow(), ms);
    this.timer.unref();
  }
}
