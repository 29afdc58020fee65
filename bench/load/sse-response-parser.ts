// The load generator's SSE client parser, for one HTTP/1.1 response read from a raw TCP socket:
// status line and headers, then the body either chunked (uWS) or plain until close (node:http
// without chunking), gzip-decoded when the head says `Content-Encoding: gzip`, then SSE lines (WHATWG "Server-sent events" §9.2.6: LF, CR or CRLF line ends;
// `field: value`; a blank line dispatches). Anything may be split across reads: a chunk-size line,
// a chunk, a line, an event.
//
// It works on latin1 strings (one byte = one char), so chunk sizes count in characters and the
// string search builtins run without crossing into C++ per line: it is the hot loop of the
// generator, which must not be the bottleneck. Payloads are ASCII; a UTF-8 payload would still be
// framed right (every byte of a multi-byte sequence is >= 0x80, never a line end).
//
// A gzip body is inflated synchronously, read by read, on one long-lived context (Z_SYNC_FLUSH):
// every write of the servers under test ends on a flush, so each event is decoded in the read that
// completes it, and its latency is that read's time.
import zlib from 'node:zlib';
import { zlibEach, type SyncZlib } from '../../src/fanout/deflate-sync.js';

const Z_SYNC_FLUSH = zlib.constants.Z_SYNC_FLUSH;

// Inflating costs several times what parsing a read costs, and a process decodes its streams one
// after the other: no Buffer per read on the way in (one reused), none on the way out (latin1 text
// straight from zlib's output).
let input = Buffer.allocUnsafe(64 * 1024);
let inflated = '';
const takeLatin1 = (out: Buffer, have: number): void => {
  inflated += out.toString('latin1', 0, have);
};

export interface SseEventSink {
  /**
   * One dispatched event: `id` is this event's own id field ('' when it has none; the spec's
   * last-event-ID, which persists, is of no use to a load generator), `event` '' for the default type.
   */
  onEvent(id: string, event: string, data: string): void;
}

const enum Phase {
  Head,
  Body,
  Done,
}

export class SseResponseParser {
  status = 0;
  chunked = false;
  gzip = false;
  /** why the response cannot be parsed further, when it cannot */
  error: string | undefined;
  private phase = Phase.Head;
  private head = '';
  // chunked framing
  private chunkLeft = 0;
  private crlfLeft = 0;
  private sizeLine = '';
  private inflate: SyncZlib | undefined;
  // SSE lines
  private carry = '';
  private lastWasCr = false;
  private id = '';
  private event = '';
  private data = '';
  private hasData = false;

  constructor(private readonly sink: SseEventSink) {}

  get headDone(): boolean {
    return this.phase !== Phase.Head;
  }

  get ended(): boolean {
    return this.phase === Phase.Done;
  }

  /** Feeds one read; returns false once the response is malformed (see `error`). */
  feed(s: string): boolean {
    if (this.phase === Phase.Head) {
      this.head += s;
      const end = this.head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (this.head.length > 16_384) return this.fail('response head over 16 KiB');
        return true;
      }
      const rest = this.head.slice(end + 4);
      if (!this.parseHead(this.head.slice(0, end))) return false;
      this.head = '';
      this.phase = Phase.Body;
      if (rest.length === 0) return true;
      s = rest;
    }
    if (this.phase === Phase.Done) return true;
    return this.chunked ? this.dechunk(s) : this.body(s);
  }

  private fail(why: string): false {
    this.error = why;
    this.phase = Phase.Done;
    return false;
  }

  private parseHead(head: string): boolean {
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return this.fail(`not an HTTP/1.x response: ${JSON.stringify(head.slice(0, 40))}`);
    this.status = Number(m[1]);
    this.chunked = /\r\ntransfer-encoding:[ \t]*chunked/i.test(head);
    this.gzip = /\r\ncontent-encoding:[ \t]*gzip/i.test(head);
    return true;
  }

  /** Body bytes (de-chunked), decoded when gzip-encoded. */
  private body(s: string): boolean {
    if (!this.gzip) {
      this.lines(s);
      return true;
    }
    if (this.inflate === undefined) {
      const z = zlib.createGunzip();
      z.on('error', () => {}); // zlibSync throws where the bytes are fed; the stream's own event says it again
      this.inflate = z as unknown as SyncZlib;
    }
    if (s.length > input.length) input = Buffer.allocUnsafe(s.length);
    const length = input.write(s, 'latin1');
    inflated = '';
    try {
      zlibEach(this.inflate, input, length, Z_SYNC_FLUSH, takeLatin1);
    } catch (err) {
      return this.fail(`gzip body: ${(err as Error).message}`);
    }
    if (inflated.length > 0) this.lines(inflated);
    return true;
  }

  /** Chunked transfer coding (RFC 9112 §7.1): `<hex size>[;ext]\r\n<size bytes>\r\n`, ended by size 0. */
  private dechunk(s: string): boolean {
    let i = 0;
    const n = s.length;
    while (i < n) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, n - i);
        if (!this.body(take === n && i === 0 ? s : s.substring(i, i + take))) return false;
        this.chunkLeft -= take;
        i += take;
        if (this.chunkLeft === 0) this.crlfLeft = 2;
        continue;
      }
      if (this.crlfLeft > 0) {
        const c = s.charCodeAt(i);
        if (c !== (this.crlfLeft === 2 ? 13 : 10)) return this.fail('chunk not followed by CRLF');
        this.crlfLeft--;
        i++;
        continue;
      }
      const nl = s.indexOf('\n', i);
      if (nl === -1) {
        this.sizeLine += s.substring(i);
        if (this.sizeLine.length > 64) return this.fail('chunk-size line too long');
        return true;
      }
      const line = this.sizeLine + s.substring(i, nl);
      this.sizeLine = '';
      i = nl + 1;
      const size = parseInt(line, 16); // stops at ';' (extensions) and at the CR
      if (!Number.isFinite(size) || size < 0) return this.fail(`bad chunk size ${JSON.stringify(line)}`);
      if (size === 0) {
        this.phase = Phase.Done; // trailers, if any, are of no interest
        return true;
      }
      this.chunkLeft = size;
    }
    return true;
  }

  /** SSE line splitting, with the part after the last line end carried to the next call. */
  private lines(s: string): void {
    const buf = this.carry.length > 0 ? this.carry + s : s;
    let pos = 0;
    // A CRLF split across reads: the LF that starts this read ends no line.
    if (this.lastWasCr && buf.charCodeAt(0) === 10) pos = 1;
    this.lastWasCr = false;
    const n = buf.length;
    // CR (alone or in CRLF) also ends a line; our servers never send one, so look per line only
    // when this read holds one (one scan per read, not one per line).
    let nextCr = buf.indexOf('\r', pos);
    while (pos < n) {
      let end = buf.indexOf('\n', pos);
      if (nextCr !== -1) {
        if (nextCr < pos) nextCr = buf.indexOf('\r', pos);
        if (nextCr !== -1 && (end === -1 || nextCr < end)) end = nextCr;
      }
      if (end === -1) break;
      this.line(buf, pos, end);
      if (buf.charCodeAt(end) === 13) {
        if (end + 1 === n) this.lastWasCr = true;
        else if (buf.charCodeAt(end + 1) === 10) end++;
      }
      pos = end + 1;
    }
    this.carry = pos === 0 ? buf : pos < n ? buf.substring(pos) : '';
    if (this.carry.length > 1_048_576) {
      // a "line" of a MiB: not SSE; drop it rather than grow without bound
      this.carry = '';
    }
  }

  private line(buf: string, start: number, end: number): void {
    if (start === end) {
      this.dispatch();
      return;
    }
    const first = buf.charCodeAt(start);
    if (first === 58 /* ':' comment */) return;
    let colon = buf.indexOf(':', start);
    if (colon === -1 || colon > end) colon = end;
    let valueStart = colon + 1;
    if (valueStart < end && buf.charCodeAt(valueStart) === 32) valueStart++;
    const value = valueStart >= end ? '' : buf.substring(valueStart, end);
    const nameLength = colon - start;
    // Compare field names by length and first char before the full check: d(ata) i(d) e(vent).
    if (nameLength === 4 && first === 100 && buf.startsWith('data', start)) {
      this.data = this.hasData ? `${this.data}\n${value}` : value;
      this.hasData = true;
    } else if (nameLength === 2 && first === 105 && buf.startsWith('id', start)) {
      if (value.indexOf('\0') === -1) this.id = value;
    } else if (nameLength === 5 && first === 101 && buf.startsWith('event', start)) {
      this.event = value;
    }
    // retry and unknown fields: nothing to do for a load generator
  }

  private dispatch(): void {
    if (!this.hasData) {
      this.id = '';
      this.event = '';
      return;
    }
    const { id, event, data } = this;
    this.id = '';
    this.event = '';
    this.data = '';
    this.hasData = false;
    this.sink.onEvent(id, event, data);
  }
}
