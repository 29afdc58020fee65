// A raw SSE client over node:http (a strict HTTP/1.1 parser, chunked framing included), parsing
// events with the independent eventsource-parser package. Keeps every event and comment it saw.
import http from 'node:http';
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

export function openStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      let endedResolve!: () => void;
      const stream: RawStream = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        retry: undefined,
        ended: new Promise((r) => (endedResolve = r)),
        closed: false,
        error: undefined,
        close: () => req.destroy(),
        pause: () => res.pause(),
        resume: () => res.resume(),
        waitForEvents: (n, timeoutMs) => waitFor(() => stream.events.length >= n && stream.events, `${n} events (have ${stream.events.length})`, timeoutMs),
      };
      const parser = createParser({
        onEvent: (e) => stream.events.push(e),
        onComment: (c) => stream.comments.push(c),
        onRetry: (r) => (stream.retry = r),
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      const done = (err?: Error): void => {
        stream.closed = true;
        if (err) stream.error = err;
        endedResolve();
      };
      res.on('end', () => done());
      res.on('error', done);
      req.on('error', done);
      res.on('aborted', () => done(new Error('aborted')));
      res.on('close', () => done());
      resolve(stream);
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
