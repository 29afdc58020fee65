// Raw bytes over node:net, where an HTTP client library would normalise hostile framing away.
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
  return [...raw.matchAll(/(?:^|\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}
