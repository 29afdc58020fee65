// Small helpers for writing whole responses with uWS. Must run inside a cork (a handler, or res.cork).
// A HEAD request is marked on its response: every helper then sends the head of the same answer.
import type { HttpResponse } from 'uWebSockets.js';
import { HttpError } from '../intake/errors.js';
import { encodeRetry } from '../sequencing/sse-encoding.js';
import type { Header } from './cors.js';

const STATUS_TEXT: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  204: '204 No Content',
  304: '304 Not Modified',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  411: '411 Length Required',
  413: '413 Payload Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

const HEAD_ONLY = Symbol('head only');
type Marked = HttpResponse & { [HEAD_ONLY]?: true };

/** HEAD: answer exactly as GET would, without the body (RFC 9110 9.3.2). */
export function markHeadOnly(res: HttpResponse): void {
  (res as Marked)[HEAD_ONLY] = true;
}

export function isHeadOnly(res: HttpResponse): boolean {
  return (res as Marked)[HEAD_ONLY] === true;
}

export function send(
  res: HttpResponse,
  status: number,
  body: string | Uint8Array,
  contentType: string,
  headers: readonly Header[] = [],
  closeConnection = false,
): void {
  res.writeStatus(STATUS_TEXT[status] ?? String(status));
  res.writeHeader('Content-Type', contentType);
  // nothing is stored unless the caller says how (a static file: no-cache, with its ETag)
  if (!headers.some(([k]) => k.toLowerCase() === 'cache-control')) res.writeHeader('Cache-Control', 'no-store');
  for (const [k, v] of headers) res.writeHeader(k, v);
  if (!isHeadOnly(res)) return void res.end(body, closeConnection);
  // This uWS build ends nothing when endWithoutBody gets arguments, so the length is a plain header.
  res.writeHeader('Content-Length', String(typeof body === 'string' ? Buffer.byteLength(body) : body.length));
  res.endWithoutBody();
}

/** 304: the client's copy is current; no body, and no Content-Length (it would have to be the 200's). */
export function notModified(res: HttpResponse, headers: readonly Header[]): void {
  res.writeStatus(STATUS_TEXT[304]!);
  for (const [k, v] of headers) res.writeHeader(k, v);
  res.endWithoutBody();
}

export function sendJson(res: HttpResponse, status: number, value: unknown, headers: readonly Header[] = []): void {
  send(res, status, JSON.stringify(value), 'application/json', headers);
}

export function sendError(res: HttpResponse, err: unknown, headers: readonly Header[] = [], closeConnection = false): void {
  const e = err instanceof HttpError ? err : new HttpError('INTERNAL');
  if (!(err instanceof HttpError)) console.error('internal error:', err);
  send(res, e.status, e.body(), 'application/json', [...headers, ...retryAfter(e)], closeConnection);
}

/** Every answer of an error that says when to retry carries it, whichever way it is sent. */
function retryAfter(err: HttpError): Header[] {
  return err.retryAfterS === undefined ? [] : [['Retry-After', String(err.retryAfterS)]];
}

export type ShedCode = 'TOO_MANY_CONNECTIONS' | 'DRAINING' | 'UNAVAILABLE' | 'KEYS_UNAVAILABLE' | 'TOO_MANY_CONNECTIONS_PER_IP';

/**
 * Over a limit, draining, or no shard to serve: an EventSource gets a 200 stream carrying only a
 * jittered `retry:` and is closed (a 503 would stop a browser for good); other clients get 503 +
 * Retry-After. The jitter spreads a reconnect storm.
 */
export function shed(res: HttpResponse, accept: string, cors: readonly Header[], code: ShedCode, retryMs: number): void {
  const retry = Math.round(retryMs + Math.random() * Math.max(retryMs, 1000) * 2);
  if (accept.includes('text/event-stream')) {
    send(res, 200, encodeRetry(retry), 'text/event-stream; charset=utf-8', cors, true);
  } else {
    sendError(res, new HttpError(code), [...cors, ['Retry-After', String(Math.ceil(retry / 1000))]], true);
  }
}

export interface Linger {
  /** most body bytes read and dropped after the answer */
  bytes: number;
  ms: number;
  /**
   * the body's end as framed is trustworthy (one Content-Length): end the response there and let the
   * connection go on; otherwise close it without ending the response (its body is then cut short),
   * because an ended response lets uWS read whatever follows the doubtful end as the next request
   */
  trustFraming: boolean;
}

/**
 * Refuses a request whose body the client may still be sending, so that the answer is not lost:
 * closing at once with unread data makes the kernel send a TCP reset, which can destroy the answer
 * before the client reads it (a proxy then reports 502). So the error goes out now as one chunk
 * with `Connection: close`, the body is read and dropped, and the response ends once the body is in,
 * or the connection closes after `linger.bytes` more or `linger.ms`, whichever comes first.
 * (This uWS build writes `Connection: close` into the body when end(.., true) follows a write, so
 * the header is ours and the close is a plain close.)
 */
export function refuseWhileSending(res: HttpResponse, err: HttpError, headers: readonly Header[], linger: Linger): void {
  res.writeStatus(STATUS_TEXT[err.status] ?? String(err.status));
  res.writeHeader('Content-Type', 'application/json');
  res.writeHeader('Cache-Control', 'no-store');
  res.writeHeader('Connection', 'close');
  for (const [k, v] of [...headers, ...retryAfter(err)]) res.writeHeader(k, v);
  res.write(err.body());
  let done = false;
  const finish = (bodyIn: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (bodyIn && linger.trustFraming) res.cork(() => res.end());
    // next turn: a close inside this callback would drop the answer still corked in uWS
    else setImmediate(() => aborted || res.close());
  };
  const timer = setTimeout(() => finish(false), linger.ms);
  let dropped = 0;
  let aborted = false;
  res.onAborted(() => {
    aborted = done = true;
    clearTimeout(timer);
  });
  res.onData((chunk, isLast) => {
    dropped += chunk.byteLength;
    if (isLast || dropped > linger.bytes) finish(isLast);
  });
}

/**
 * Reads a request body up to `limit` bytes without buffering past it: `onTooLarge` runs as soon as
 * the limit is crossed and the rest is ignored. uWS chunks are only valid inside onData, so copy.
 */
export function readBody(
  res: HttpResponse,
  limit: number,
  onBody: (body: Buffer) => void,
  onTooLarge: () => void,
): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((chunk, isLast) => {
    if (over) return;
    size += chunk.byteLength;
    if (size > limit) {
      over = true;
      chunks.length = 0;
      onTooLarge();
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (isLast) onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
  });
}
