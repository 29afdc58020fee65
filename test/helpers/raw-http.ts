// Raw bytes over node:net, where an HTTP client library would normalise hostile framing away
// (HTTP/1.0, duplicate headers, hand-made chunked framing).
import net from 'node:net';

export interface RawReply {
  reply: string;
  outcome: 'closed' | 'reset' | 'timeout';
}

/**
 * Writes raw bytes on a fresh TCP connection and collects whatever comes back until the server
 * closes it, or `idleMs` passes with the connection open (`timeout`: kept alive, or no answer).
 * With `untilAnswers`, the client ends its side once that many complete Content-Length answers came.
 */
export function rawExchange(port: number, bytes: string | Buffer, opts: { idleMs?: number; untilAnswers?: number; bodiless?: number } = {}): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes));
    let reply = '';
    let outcome: RawReply['outcome'] = 'closed';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      reply += d;
      if (opts.untilAnswers !== undefined && completeAnswers(reply, opts.bodiless) >= opts.untilAnswers) socket.end();
    });
    socket.setTimeout(opts.idleMs ?? 15_000, () => {
      outcome = 'timeout';
      socket.destroy();
    });
    socket.on('error', () => (outcome = 'reset'));
    socket.on('close', () => resolve({ reply, outcome }));
  });
}

export interface RawOpenStream {
  status: number;
  /** the answer's head, as latin1 */
  head: string;
  close(): void;
}

/** Sends `request` on a fresh connection and resolves once the answer's head has come; the connection stays open (a stream) until close(). */
export function rawOpen(port: number, request: string, timeoutMs = 10_000): Promise<RawOpenStream> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(Buffer.from(request, 'latin1')));
    let received = '';
    const timer = setTimeout(() => fail(new Error(`no answer head within ${timeoutMs} ms; received ${JSON.stringify(received)}`)), timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      received += d;
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      const head = received.slice(0, end);
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, close: () => socket.destroy() });
    });
    socket.on('error', fail);
  });
}

/** How many complete responses with a Content-Length body `raw` holds; the first `bodiless` answer HEAD requests. */
export function completeAnswers(raw: string, bodiless = 0): number {
  let n = 0;
  let rest = raw;
  for (;;) {
    const head = /^HTTP\/1\.1 \d{3} [^\r\n]*\r\n([\s\S]*?)\r\n\r\n/.exec(rest);
    if (!head) return n;
    const length = /(?:^|\r\n)content-length: *(\d+)/i.exec(head[1]!);
    const bodyLength = length && n >= bodiless ? Number(length[1]) : 0;
    const after = rest.slice(head[0].length);
    if (Buffer.byteLength(after, 'latin1') < bodyLength) return n;
    n++;
    rest = after.slice(bodyLength);
  }
}

/** The status codes of the responses in `raw`, in order. */
export function statuses(raw: string): number[] {
  return [...raw.matchAll(/HTTP\/1\.1 (\d{3}) [A-Z]/g)].map((m) => Number(m[1]));
}

export interface RawResponse {
  /** everything received, as latin1 */
  raw: string;
  statusLine: string;
  status: number;
  /** lower-cased names; repeated headers joined with ", " */
  headers: Record<string, string>;
  /** de-chunked when the answer was chunked */
  body: string;
}

/** One exchange that the peer ends by closing (send `Connection: close` on HTTP/1.1), parsed. */
export async function rawRequest(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
  const { reply, outcome } = await rawExchange(port, typeof request === 'string' ? Buffer.from(request) : request, { idleMs: timeoutMs });
  // a reset after a complete answer still counts: the answer is what the client read
  if (outcome === 'timeout') throw new Error(`no close within ${timeoutMs} ms; received so far: ${JSON.stringify(reply)}`);
  return parseResponse(reply);
}

function parseResponse(raw: string): RawResponse {
  const headEnd = raw.indexOf('\r\n\r\n');
  if (headEnd < 0) throw new Error(`no complete response head in ${JSON.stringify(raw)}`);
  const [statusLine = '', ...lines] = raw.slice(0, headEnd).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = raw.slice(headEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.slice(0, Number(headers['content-length']));
  return { raw, statusLine, status: Number(m[1]), headers, body };
}

function dechunk(framed: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const lineEnd = framed.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error(`truncated chunked body: ${JSON.stringify(framed)}`);
    const size = parseInt(framed.slice(at, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size in ${JSON.stringify(framed)}`);
    if (size === 0) return out;
    out += framed.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}
