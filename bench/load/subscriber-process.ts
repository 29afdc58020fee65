// A load-generator process holding many SSE subscribers on raw TCP sockets (no HTTP client library:
// it must cost less than the server it measures). Opens them with bounded concurrency, parses every
// event, and per phase counts deliveries, order violations and publish-to-receive latency (the
// publisher stamps each payload with CLOCK_MONOTONIC; this process reads the same clock once per
// socket read, when the bytes reach JavaScript).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type ConnectReport, type Progress, type SubscriberReport, type SubscriberRequest, type Target } from './messages.js';
import { SseResponseParser, type SseEventSink } from './sse-response-parser.js';

// Per-phase counters, shared by every stream of this process.
let phase = 0;
let received = 0;
let stale = 0;
let resets = 0;
let orderViolations = 0;
let malformed = 0;
let bytes = 0;
let firstReceiveUs = 0;
let lastReceiveUs = 0;
let openAtStart = 0;
let readAtUs = 0; // time of the read being parsed
const latency = new LatencyHistogram();
let cpuAtStart = process.cpuUsage();
let eluAtStart = performance.eventLoopUtilization();
let wallAtStart = performance.now();

const streams = new Set<Stream>();
let open = 0;

/** Reads the decimal integer at s[i..], stopping at the first non-digit; -1 when there is none. */
function intAt(s: string, i: number): number {
  let v = 0;
  let any = false;
  for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) {
    v = v * 10 + (c - 48);
    any = true;
  }
  return any ? v : -1;
}

class Stream implements SseEventSink {
  readonly parser = new SseResponseParser(this);
  private lastSeq = 0;
  opened = false;

  constructor(readonly socket: net.Socket) {}

  onEvent(id: string, event: string, data: string): void {
    if (event === 'reset') {
      resets++;
      return;
    }
    // id: <epoch>-<seq>; the server's sequence must only grow on one stream
    const seq = intAt(id, id.lastIndexOf('-') + 1);
    if (seq < 0 || seq <= this.lastSeq) orderViolations++;
    else this.lastSeq = seq;
    // data: <phase> <publisher seq> <sent µs> <padding>
    const a = data.indexOf(' ');
    const b = a === -1 ? -1 : data.indexOf(' ', a + 1);
    const p = intAt(data, 0);
    const sent = b === -1 ? -1 : intAt(data, b + 1);
    if (p < 0 || sent < 0) {
      malformed++;
      return;
    }
    if (p !== phase) {
      stale++;
      return;
    }
    received++;
    if (firstReceiveUs === 0) firstReceiveUs = readAtUs;
    lastReceiveUs = readAtUs;
    latency.record(readAtUs - sent);
  }
}

function connect(r: Extract<SubscriberRequest, { type: 'connect' }>): Promise<ConnectReport> {
  const started = performance.now();
  const request = `GET /events?topic=${encodeURIComponent(r.topic)} HTTP/1.1\r\nHost: ${r.target.host}:${r.target.port}\r\nAccept: text/event-stream\r\n\r\n`;
  let next = 0;
  let inFlight = 0;
  let connected = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  return new Promise((resolve) => {
    const settle = (failure: string | undefined): void => {
      inFlight--;
      if (failure === undefined) connected++;
      else {
        failed++;
        failures[failure] = (failures[failure] ?? 0) + 1;
      }
      if (connected + failed === r.count) {
        resolve({ connected, failed, failures, seconds: (performance.now() - started) / 1000 });
      } else pump();
    };
    const pump = (): void => {
      while (inFlight < r.concurrency && next < r.count) {
        next++;
        inFlight++;
        openOne(r.target, request, r.timeoutMs, settle);
      }
    };
    if (r.count === 0) resolve({ connected: 0, failed: 0, failures, seconds: 0 });
    else pump();
  });
}

/**
 * Every socket reads into this one buffer (net's `onread`): no Buffer per read and no stream
 * machinery between the read and the parser. Safe because each read is turned into a string before
 * the callback returns.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

function openOne(target: Target, request: string, timeoutMs: number, settle: (failure: string | undefined) => void): void {
  let stream: Stream | undefined = undefined;
  let settled = false;
  const done = (failure: string | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    settle(failure);
  };
  const onRead = (n: number, buf: Buffer): boolean => {
    bytes += n;
    readAtUs = nowUs();
    const s = stream!;
    const ok = s.parser.feed(buf.toString('latin1', 0, n));
    if (!s.opened && s.parser.headDone) {
      if (s.parser.status !== 200) {
        done(`HTTP ${s.parser.status}`);
        socket.destroy();
        return true;
      }
      s.opened = true;
      streams.add(s);
      open++;
      done(undefined);
    }
    if (!ok) {
      console.error(`subscriber: ${s.parser.error}`);
      socket.destroy();
    }
    return true;
  };
  const socket = net.connect({ host: target.host, port: target.port, onread: { buffer: READ_BUFFER, callback: onRead } });
  stream = new Stream(socket);
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
      streams.delete(stream);
      open--;
    }
  });
}

function phaseStart(p: number): void {
  phase = p;
  received = stale = resets = orderViolations = malformed = bytes = 0;
  firstReceiveUs = lastReceiveUs = 0;
  latency.reset();
  openAtStart = open;
  cpuAtStart = process.cpuUsage();
  eluAtStart = performance.eventLoopUtilization();
  wallAtStart = performance.now();
}

function phaseReport(): SubscriberReport {
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    openAtStart,
    openNow: open,
    received,
    stale,
    resets,
    orderViolations,
    malformed,
    bytes,
    firstReceiveUs,
    lastReceiveUs,
    latency: latency.toData(),
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (performance.now() - wallAtStart) / 1000,
    eventLoopUtilization: performance.eventLoopUtilization(eluAtStart).utilization,
  };
}

/** Resets (RST) rather than FIN: 10,000 closes would otherwise leave 10,000 ports in TIME_WAIT. */
function disconnectAll(): void {
  for (const s of streams) s.socket.resetAndDestroy();
  streams.clear();
  open = 0;
}

serveParent<SubscriberRequest>((m): unknown => {
  switch (m.type) {
    case 'connect':
      return connect(m);
    case 'phase-start':
      return phaseStart(m.phase);
    case 'progress':
      return { received, open } satisfies Progress;
    case 'phase-report':
      return phaseReport();
    case 'disconnect':
      return disconnectAll();
  }
});
