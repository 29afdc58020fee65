// The browser client of the SSE server: a dependency-free ES module, served by the server at
// /client.js and importable from the package as `uws-sse-server/client`.
//
//   import { subscribe } from '/client.js';
//   const sub = subscribe({ topics: ['orders'], onEvent: (e) => console.log(e.name, e.id, e.json()) });
//
// Every event, whatever its name, goes to onEvent; reset frames to onReset. It reconnects by itself
// from the last id (Last-Event-ID), after the server's retry: or a jittered back-off, renews its
// token before exp, and stops for good on 401/403 (onError). All the tabs of a browser that
// subscribe to the same topics on the same server share one stream (see shared.ts).
import { Connection, type StreamState } from './connection.js';
import { ClientError } from './reconnect.js';
import { canShare, SharedStream, type Role } from './shared.js';
import type { ParsedEvent } from './sse-parser.js';

export { ClientError, type StreamState, type Role };
export { createSseParser, type ParsedEvent, type SseParser } from './sse-parser.js';

export interface StreamEvent {
  /** the event's name (`event:`), "message" when it has none */
  name: string;
  /** the data as sent (lines joined with LF) */
  data: string;
  /** the event's id: what a reconnect resumes after */
  id: string;
  /** the data parsed as JSON (throws a SyntaxError if it is not JSON) */
  json<T = unknown>(): T;
}

export interface SubscribeOptions {
  /** one or more topics; the order does not matter */
  topics: readonly string[];
  /** the server's base URL, /events is read below it (default: this page's origin) */
  url?: string;
  onEvent(event: StreamEvent): void;
  /** a reset frame: events were missed (reason "history", "epoch" or "dropped"); resynchronise */
  onReset?(reason: string, id: string): void;
  /** connecting, open, reconnecting, closed; in a tab that shares another tab's stream, that stream's */
  onState?(state: StreamState): void;
  /** the stream stopped for good: 401, 403, or an answer that is not an event stream */
  onError?(error: ClientError): void;
  /** called before each connect; its token is sent as `Authorization: Bearer`, and renewed before its exp */
  getToken?(): Promise<string | undefined> | string | undefined;
  /** resume after this id (as a Last-Event-ID) */
  lastEventId?: string;
  /** send cookies to a server of another origin (as EventSource's withCredentials) */
  withCredentials?: boolean;
  /** share one stream with the other tabs (default: where Web Locks and BroadcastChannel exist) */
  share?: boolean;
  /** this tab holds the stream (leader) or reads another tab's (follower) */
  onRole?(role: Role): void;
}

export interface Subscription {
  /** the id of the last event this tab received */
  readonly lastEventId: string | undefined;
  close(): void;
}

/** the wait before reconnecting until the server's first retry: arrives (EventSource's default) */
const DEFAULT_RETRY_MS = 3_000;

function toEvent(e: ParsedEvent): StreamEvent {
  return { name: e.name, data: e.data, id: e.id, json: <T>() => JSON.parse(e.data) as T };
}

function reasonOf(data: string): string {
  try {
    const reason = (JSON.parse(data) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : 'unknown';
  } catch {
    return 'unknown';
  }
}

export function subscribe(opts: SubscribeOptions): Subscription {
  if (opts.topics.length === 0) throw new TypeError('subscribe: topics must name at least one topic');
  const base = new URL(opts.url ?? location.origin, typeof location === 'undefined' ? undefined : location.href);
  const topics = [...new Set(opts.topics)].sort();
  // relative to the base's path, so a server behind a path prefix (https://host/sse/) works
  const url = new URL('events', base.href.endsWith('/') ? base : `${base.href}/`);
  for (const t of topics) url.searchParams.append('topic', t);
  const common = {
    url: url.href,
    lastEventId: opts.lastEventId,
    getToken: opts.getToken,
    withCredentials: opts.withCredentials === true,
    retryMs: DEFAULT_RETRY_MS,
    onEvent: (e: ParsedEvent) => (e.name === 'reset' ? opts.onReset?.(reasonOf(e.data), e.id) : opts.onEvent(toEvent(e))),
    onState: (s: StreamState) => opts.onState?.(s),
    onError: (err: ClientError) => opts.onError?.(err),
  };
  if (opts.share === false || !canShare()) {
    opts.onRole?.('leader');
    return new Connection(common);
  }
  // JSON: no topic or origin can make two different sets collide in one name
  return new SharedStream({ ...common, name: `uws-sse-server:${JSON.stringify([url.origin, url.pathname, topics])}`, onRole: opts.onRole });
}
