// A raw SSE client over node:http (a strict HTTP/1.1 parser, chunked framing included) or over one
// stream of a node:http2 session, parsing events with the independent eventsource-parser package.
// Keeps every event and comment it saw.
import http from 'node:http';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { waitFor } from './server.js';

export interface RawStream {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: EventSourceMessage[];
  comments: string[];
  retry: number | undefined;
  ended: Promise<void>;
  closed: boolean;
  error: Error | undefined;
  close(): void;
  /** stop reading: the kernel buffers fill, then the server sees backpressure */
  pause(): void;
  resume(): void;
  waitForEvents(n: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
}

/** Reads `body` (the response of either protocol) into a RawStream; an error of `req` ends it too. */
function track(status: number, headers: http.IncomingHttpHeaders, body: Readable, req: NodeJS.EventEmitter, close: () => void): RawStream {
  let endedResolve!: () => void;
  const stream: RawStream = {
    status,
    headers,
    events: [],
    comments: [],
    retry: undefined,
    ended: new Promise((r) => (endedResolve = r)),
    closed: false,
    error: undefined,
    close,
    pause: () => body.pause(),
    resume: () => body.resume(),
    waitForEvents: (n, timeoutMs) => waitFor(() => stream.events.length >= n && stream.events, `${n} events (have ${stream.events.length})`, timeoutMs),
  };
  const parser = createParser({
    onEvent: (e) => stream.events.push(e),
    onComment: (c) => stream.comments.push(c),
    onRetry: (r) => (stream.retry = r),
  });
  body.setEncoding('utf8');
  body.on('data', (chunk: string) => parser.feed(chunk));
  const done = (err?: Error): void => {
    stream.closed = true;
    if (err) stream.error = err;
    endedResolve();
  };
  body.on('end', () => done());
  body.on('error', done);
  if (req !== body) req.on('error', done);
  body.on('aborted', () => done(new Error('aborted')));
  body.on('close', () => done());
  return stream;
}

export function openStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      resolve(track(res.statusCode ?? 0, res.headers, res, req, () => req.destroy()));
    });
    req.on('error', reject);
  });
}

/** A stream resumed from `lastEventId`: every event it gets up to the one with id `until` (or, with `stopAtReset`, up to a reset frame), then closed. */
export async function resumeUntil(url: string, lastEventId: string, until: string, stopAtReset = true, timeoutMs = 30_000): Promise<EventSourceMessage[]> {
  const stream = await openStream(url, { 'last-event-id': lastEventId });
  try {
    const end = await waitFor(() => {
      const i = stream.events.findIndex((e) => e.id === until || (stopAtReset && e.event === 'reset'));
      return i >= 0 && i + 1;
    }, `the event ${until}`, timeoutMs);
    return stream.events.slice(0, end);
  } finally {
    stream.close();
  }
}

/** GET `path` as one stream of an HTTP/2 session: many of these share the session's one connection. */
export function openH2Stream(session: http2.ClientHttp2Session, path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, accept: 'text/event-stream', ...headers });
    req.once('response', (h) => {
      const { ':status': status, ...rest } = h;
      resolve(track(Number(status), rest as http.IncomingHttpHeaders, req, req, () => req.close()));
    });
    req.once('error', reject);
  });
}
