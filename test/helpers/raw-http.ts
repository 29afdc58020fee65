// One HTTP exchange over a raw TCP socket: sends the bytes exactly as given (HTTP/1.0, duplicate
// headers, hand-made chunked framing, which no HTTP client library lets a test send) and reads
// until the peer closes. Send `Connection: close` on HTTP/1.1 requests so that it does.
import net from 'node:net';

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

export function rawRequest(port: number, request: string | Buffer, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received so far: ${JSON.stringify(Buffer.concat(chunks).toString('latin1'))}`));
    }, timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    // a reset after a complete answer still counts: the answer is what the client read
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      const raw = Buffer.concat(chunks).toString('latin1');
      try {
        resolve(parseResponse(raw));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
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
