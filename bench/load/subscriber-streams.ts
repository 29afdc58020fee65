// The subscribers of one load-generator process, on raw TCP sockets (no HTTP client library: it must
// cost less than the server it measures). A Client is one subscriber across its connections, as a
// browser's EventSource is across reconnects: it remembers the last id it received and, in a tracked
// phase, counts every event it got, so that missing and duplicate deliveries can be told. A Stream is
// one connection: it parses every event and counts it into the process's PhaseCounters.
import net from 'node:net';
import { nowUs, type Target } from './messages.js';
import type { PhaseCounters } from './phase-counters.js';
import { readStamp, type Stamp } from './payloads.js';
import { SseResponseParser, type SseEventSink } from './sse-response-parser.js';

/** Reads the decimal integer at s[i..], stopping at the first non-digit; -1 when there is none. */
export function intAt(s: string, i: number): number {
  let v = 0;
  let any = false;
  for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) {
    v = v * 10 + (c - 48);
    any = true;
  }
  return any ? v : -1;
}

/** Highest payload seq a client keeps a count for: anything above is not a bench payload. */
const MAX_TRACKED_SEQ = 10_000_000;

/** One subscriber across its connections, as a browser's EventSource is across reconnects. */
export class Client {
  /** the id of the last event received: sent back as Last-Event-ID on a reconnect ('' : none yet) */
  lastId = '';
  /** the seq of that id: the server's sequence must only grow for a client, across its connections */
  lastSeq = 0;
  stream: Stream | undefined;
  /** tracked phase: deliveries per payload seq (saturating at 255), reset frames, catch-up */
  seen = new Uint8Array(0);
  resets = 0;
  /** hrtime (µs): head of the last reconnect, and the last catch-up event received on it */
  backUs = 0;
  lastCatchUpUs = 0;

  startTracking(): void {
    this.seen = new Uint8Array(1024);
    this.resets = 0;
    this.backUs = 0;
    this.lastCatchUpUs = 0;
  }

  mark(seq: number): void {
    if (seq <= 0 || seq > MAX_TRACKED_SEQ) return;
    if (seq >= this.seen.length) {
      const grown = new Uint8Array(Math.max(seq + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    if (this.seen[seq]! < 255) this.seen[seq]!++;
  }
}

const stamp: Stamp = { phase: 0, seq: 0, sentUs: 0 }; // the event being counted

export class Stream implements SseEventSink {
  readonly parser = new SseResponseParser(this);
  opened = false;
  /** hrtime (µs) of connect(), and of the read that completed the response head */
  readonly connectUs = nowUs();
  headAtUs = 0;

  constructor(
    readonly socket: net.Socket,
    readonly client: Client,
    /** opened by a storm's reconnect, with the client's Last-Event-ID */
    readonly reconnected: boolean,
    private readonly counters: PhaseCounters,
  ) {}

  onEvent(id: string, event: string, data: string): void {
    const counters = this.counters;
    const readAtUs = counters.readAtUs;
    // events are parsed before the read that carried the head is looked at: the head was in this read
    if (this.headAtUs === 0) this.headAtUs = readAtUs;
    const client = this.client;
    if (id !== '') client.lastId = id; // a reset frame's id too: the browser resumes from its position
    if (event === 'reset') {
      client.lastSeq = 0; // a new history: its numbers start again
      counters.resets++;
      if (counters.tracking) client.resets++;
      return;
    }
    // id: <epoch>-<seq>; a resumed stream goes on after the client's last id
    const seq = intAt(id, id.lastIndexOf('-') + 1);
    if (seq < 0 || seq <= client.lastSeq) counters.orderViolations++;
    else client.lastSeq = seq;
    if (!readStamp(data, stamp)) {
      counters.malformed++;
      return;
    }
    if (stamp.phase !== counters.phase) {
      counters.stale++;
      return;
    }
    const sent = stamp.sentUs;
    counters.received++;
    if (counters.firstReceiveUs === 0) counters.firstReceiveUs = readAtUs;
    counters.lastReceiveUs = readAtUs;
    counters.latency.record(readAtUs - sent);
    if (counters.tracking) {
      client.mark(stamp.seq);
      if (this.reconnected && sent < this.headAtUs) {
        counters.catchUp.record(readAtUs - sent);
        client.lastCatchUpUs = readAtUs;
      }
    }
  }
}

/**
 * Every socket reads into this one buffer (net's `onread`): no Buffer per read and no stream
 * machinery between the read and the parser. Safe because each read is turned into a string before
 * the callback returns.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Every stream and client of this process. */
export class StreamPool {
  readonly streams = new Set<Stream>();
  open = 0;
  /** every subscriber whose first connection opened, in the order they did */
  readonly clients: Client[] = [];
  /** set by a connect request: every stream of this process, reconnects included, asks for gzip or does not */
  acceptGzip = false;
  /** set while clients follow their server (following-clients.ts): told of every stream the server closed */
  onServerClose: ((client: Client) => void) | undefined;

  constructor(readonly counters: PhaseCounters) {}

  request(target: Target, topic: string, lastEventId = ''): string {
    const resume = lastEventId === '' ? '' : `Last-Event-ID: ${lastEventId}\r\n`;
    const encoding = this.acceptGzip ? 'Accept-Encoding: gzip\r\n' : '';
    return `GET /events?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\n${encoding}${resume}\r\n`;
  }

  /** Opens one stream for `client`; `settle` runs once: with no failure when the 200 head is in. */
  openOne(target: Target, request: string, timeoutMs: number, client: Client, reconnected: boolean, settle: (failure: string | undefined, stream: Stream) => void): void {
    const counters = this.counters;
    let settled = false;
    const done = (failure: string | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle(failure, stream);
    };
    const onRead = (n: number, buf: Buffer): boolean => {
      counters.bytes += n;
      counters.readAtUs = nowUs();
      const s = stream;
      const ok = s.parser.feed(buf.toString('latin1', 0, n));
      if (!s.opened && !settled && s.parser.headDone) {
        if (s.parser.status !== 200) {
          done(`HTTP ${s.parser.status}`);
          socket.destroy();
          return true;
        }
        if (s.headAtUs === 0) s.headAtUs = counters.readAtUs;
        s.opened = true;
        this.streams.add(s);
        this.open++;
        client.stream = s;
        done(undefined);
      }
      if (!ok) {
        console.error(`subscriber: ${s.parser.error}`);
        socket.destroy();
      }
      return true;
    };
    const socket = net.connect({ host: target.host, port: target.port, onread: { buffer: READ_BUFFER, callback: onRead } });
    const stream = new Stream(socket, client, reconnected, counters);
    const timer = setTimeout(() => {
      done('timeout');
      socket.destroy();
    }, timeoutMs);
    socket.on('connect', () => socket.write(request));
    socket.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
    socket.on('close', () => {
      done('closed before the response head');
      if (stream.opened) {
        stream.opened = false;
        this.streams.delete(stream);
        this.open--;
        if (client.stream === stream) client.stream = undefined;
        this.onServerClose?.(client);
      }
    });
  }

  /** Resets (RST) rather than FIN: 10,000 closes would otherwise leave 10,000 ports in TIME_WAIT. */
  disconnectAll(): void {
    this.onServerClose = undefined;
    for (const s of this.streams) s.socket.resetAndDestroy();
    this.streams.clear();
    this.open = 0;
  }
}
