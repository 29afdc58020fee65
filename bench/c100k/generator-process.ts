// One load-generator process of `make bench-c100k`: up to ~16,000 SSE subscribers on raw TCP sockets,
// all from one loopback source address of its own (127.0.0.2, 127.0.0.3, ...), so that each process
// has the whole ephemeral port range (~28,000 ports) to itself. Connection starts are spread over a
// ramp; every subscriber is a client that outlives its connections: when the server closes one (a
// server process killed), it reconnects with its Last-Event-ID after a random pause, as a browser's
// EventSource does. Per phase it counts deliveries, order, latency and, in a tracked phase, every
// payload seq each subscriber received, so that missing and duplicate deliveries can be told.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from '../load/latency-histogram.js';
import { nowUs } from '../load/messages.js';
import { readStamp, type Stamp } from '../load/payloads.js';
import { SseResponseParser, type SseEventSink } from '../load/sse-response-parser.js';
import { intAt } from '../load/subscriber-streams.js';
import { serveParent } from '../processes.js';
import type { GeneratorConnectReport, GeneratorPhaseReport, GeneratorProgress, GeneratorRequest } from './protocol.js';

type ConnectRequest = Extract<GeneratorRequest, { type: 'connect' }>;

let phase = 0;
let tracking = false;
let received = 0;
let eventReads = 0;
let stale = 0;
let resets = 0;
let orderViolations = 0;
let malformed = 0;
let open = 0;
let openAtStart = 0;
let readAtUs = 0;
let readCarriedEvent = false;
let lastByEvent = new Float64Array(1024);
const latency = new LatencyHistogram();
const stamp: Stamp = { phase: 0, seq: 0, sentUs: 0 };
let cpuAtStart = process.cpuUsage();
let wallAtStart = performance.now();
const reconnects = { issued: 0, ok: 0, failed: 0, lastBackUs: 0 };
let stopping = false;
const clients: Client[] = [];

class Client implements SseEventSink {
  socket: net.Socket | undefined;
  parser: SseResponseParser | undefined;
  opened = false;
  lastId = '';
  lastServerSeq = 0;
  /** tracked phase: a bit per payload seq received (a second one is a duplicate) */
  seen = new Uint8Array(0);
  duplicates = 0;
  reconnectedInPhase = false;
  resumedWithId = false;

  constructor(readonly request: string) {}

  onEvent(id: string, event: string, data: string): void {
    if (id !== '') this.lastId = id;
    if (event === 'reset') {
      resets++;
      return;
    }
    // a stream's ids only grow; a reconnect starts a new stream, resumed after lastId
    const seq = intAt(id, id.lastIndexOf('-') + 1);
    if (seq < 0 || seq <= this.lastServerSeq) orderViolations++;
    else this.lastServerSeq = seq;
    if (!readStamp(data, stamp)) {
      malformed++;
      return;
    }
    if (stamp.phase !== phase) {
      stale++;
      return;
    }
    received++;
    readCarriedEvent = true;
    const us = readAtUs - stamp.sentUs;
    latency.record(us);
    const s = stamp.seq;
    if (s >= lastByEvent.length) {
      const grown = new Float64Array(Math.max(s + 1, lastByEvent.length * 2));
      grown.set(lastByEvent);
      lastByEvent = grown;
    }
    if (us > lastByEvent[s]!) lastByEvent[s] = us;
    if (tracking) this.mark(s);
  }

  private mark(s: number): void {
    const byte = s >> 3;
    if (byte >= this.seen.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.seen.length * 2, 16));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (s & 7);
    if ((this.seen[byte]! & bit) !== 0) this.duplicates++;
    else this.seen[byte]! |= bit;
  }

  has(s: number): boolean {
    const byte = s >> 3;
    return byte < this.seen.length && (this.seen[byte]! & (1 << (s & 7))) !== 0;
  }
}

/**
 * Source ports this process binds itself, one after the other (wrapping round), skipping any in
 * use. Its loopback address is its own, so every port is free for it; leaving the choice to the
 * kernel (bind to port 0) costs a scan of the ephemeral range per connect, which grows with the
 * ports already held: past ~14,000 (the even half of the range, which bind tries first) it was
 * 1.2 ms of kernel time per connection, most of the generator's CPU.
 */
const PORTS = { first: 10_000, last: 65_535, next: 10_000 };

function nextPort(): number {
  const p = PORTS.next;
  PORTS.next = p === PORTS.last ? PORTS.first : p + 1;
  return p;
}

/** Every socket reads into this one buffer; each read becomes a string before the callback returns. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** Opens one stream for `client`; `settle` once with the response head, an error or the timeout. */
function openStream(c: Client, r: ConnectRequest, settle: (failure: string | undefined, headUs: number) => void): void {
  let settled = false;
  const done = (failure: string | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    settle(failure, readAtUs);
  };
  const parser = new SseResponseParser(c);
  c.parser = parser;
  c.lastServerSeq = 0;
  const resume = c.lastId === '' ? '' : `Last-Event-ID: ${c.lastId}\r\n`;
  const socket = net.connect({
    host: r.host,
    port: r.port,
    localAddress: r.localAddress,
    localPort: nextPort(),
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number, buf: Buffer): boolean => {
        readAtUs = nowUs();
        readCarriedEvent = false;
        const ok = parser.feed(buf.toString('latin1', 0, n));
        if (readCarriedEvent) eventReads++;
        if (!c.opened && !settled && parser.headDone) {
          if (parser.status !== 200) {
            done(`HTTP ${parser.status}`);
            socket.destroy();
            return true;
          }
          c.opened = true;
          open++;
          done(undefined);
        }
        if (!ok) socket.destroy();
        return true;
      },
    },
  });
  c.socket = socket;
  const timer = setTimeout(() => {
    done('timeout');
    socket.destroy();
  }, r.timeoutMs);
  socket.on('connect', () => socket.write(c.request + resume + '\r\n'));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    // the port is held (still open from before a wrap, or another program's listener): the next one
    if (err.code === 'EADDRINUSE' && !settled) {
      settled = true;
      clearTimeout(timer);
      return openStream(c, r, settle);
    }
    done(err.code ?? err.message);
  });
  socket.on('close', () => {
    done('closed before the response head');
    if (!c.opened || c.socket !== socket) return;
    c.opened = false;
    open--;
    if (!stopping) reconnectLater(c, r);
  });
}

/** The server closed the stream: back after a random pause, with the Last-Event-ID. */
function reconnectLater(c: Client, r: ConnectRequest): void {
  reconnects.issued++;
  setTimeout(() => {
    if (stopping) return;
    if (tracking) {
      c.reconnectedInPhase = true;
      c.resumedWithId = c.lastId !== '';
    }
    openStream(c, r, (failure, headUs) => {
      if (failure !== undefined) {
        reconnects.failed++;
        if (!stopping) reconnectLater(c, r);
        return;
      }
      reconnects.ok++;
      reconnects.lastBackUs = Math.max(reconnects.lastBackUs, headUs);
    });
  }, Math.random() * r.reconnectSpreadMs);
}

function connect(r: ConnectRequest): Promise<GeneratorConnectReport> {
  const cpu0 = process.cpuUsage();
  const handshake = new LatencyHistogram();
  const report: GeneratorConnectReport = { connected: 0, failed: 0, failures: {}, handshake: handshake.toData(), firstStartUs: nowUs(), lastHeadUs: 0, cpuSeconds: 0 };
  const t0 = performance.now();
  let next = 0;
  let inFlight = 0;
  return new Promise((resolve) => {
    const finish = (): void => {
      report.handshake = handshake.toData();
      const cpu = process.cpuUsage(cpu0);
      report.cpuSeconds = (cpu.user + cpu.system) / 1e6;
      resolve(report);
    };
    if (r.count === 0) return finish();
    const pump = (): void => {
      // starts due by now on the ramp, at most `concurrency` handshakes at once
      const due = r.rampMs <= 0 ? r.count : Math.min(r.count, Math.ceil(((performance.now() - t0) / r.rampMs) * r.count));
      while (next < due && inFlight < r.concurrency) {
        const k = r.first + next++;
        const c = new Client(`GET /events?topic=${r.broadcast}&topic=t${k % r.topics} HTTP/1.1\r\nHost: ${r.host}:${r.port}\r\nAccept: text/event-stream\r\n`);
        inFlight++;
        const startUs = nowUs();
        openStream(c, r, (failure, headUs) => {
          inFlight--;
          if (failure === undefined) {
            report.connected++;
            clients.push(c);
            handshake.record(headUs - startUs);
            report.lastHeadUs = Math.max(report.lastHeadUs, headUs);
          } else {
            report.failed++;
            report.failures[failure] = (report.failures[failure] ?? 0) + 1;
          }
          if (report.connected + report.failed === r.count) {
            clearInterval(ticker);
            finish();
          }
        });
      }
    };
    const ticker = setInterval(pump, 5);
    pump();
  });
}

function phaseStart(p: number, track: boolean): void {
  phase = p;
  tracking = track;
  received = eventReads = stale = resets = orderViolations = malformed = 0;
  latency.reset();
  lastByEvent = new Float64Array(1024);
  for (const c of clients) {
    c.seen = new Uint8Array(0);
    c.duplicates = 0;
    c.reconnectedInPhase = c.resumedWithId = false;
  }
  openAtStart = open;
  cpuAtStart = process.cpuUsage();
  wallAtStart = performance.now();
}

function phaseReport(due: number[]): GeneratorPhaseReport {
  const cpu = process.cpuUsage(cpuAtStart);
  let missing = 0;
  let subscribersMissing = 0;
  let duplicates = 0;
  let reconnected = 0;
  let withLastEventId = 0;
  if (tracking) {
    for (const c of clients) {
      let m = 0;
      for (const s of due) if (!c.has(s)) m++;
      missing += m;
      if (m > 0) subscribersMissing++;
      duplicates += c.duplicates;
      if (c.reconnectedInPhase) reconnected++;
      if (c.resumedWithId) withLastEventId++;
    }
  }
  let last = lastByEvent.length;
  while (last > 0 && lastByEvent[last - 1] === 0) last--;
  return {
    openAtStart,
    openNow: open,
    received,
    eventReads,
    stale,
    resets,
    orderViolations,
    malformed,
    latency: latency.toData(),
    lastByEvent: Array.from(lastByEvent.subarray(0, last)),
    missing,
    subscribersMissing,
    duplicates,
    reconnected,
    withLastEventId,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    kernelSeconds: cpu.system / 1e6,
    wallSeconds: (performance.now() - wallAtStart) / 1000,
  };
}

/** Resets (RST) rather than FIN: 16,000 closes would otherwise leave 16,000 ports in TIME_WAIT. */
function disconnectAll(): void {
  stopping = true;
  for (const c of clients) c.socket?.resetAndDestroy();
  open = 0;
}

serveParent<GeneratorRequest>((m): unknown => {
  switch (m.type) {
    case 'connect':
      return connect(m);
    case 'phase-start':
      return phaseStart(m.phase, m.track);
    case 'progress':
      return { received, open, reconnecting: reconnects.issued, reconnected: reconnects.ok, reconnectFailed: reconnects.failed, lastBackUs: reconnects.lastBackUs } satisfies GeneratorProgress;
    case 'phase-report':
      return phaseReport(m.due);
    case 'disconnect':
      return disconnectAll();
  }
});
