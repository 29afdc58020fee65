// Long because every scenario shares these streams: connecting, per-phase counting and the reconnect storm work on the same clients.
// A load-generator process holding many SSE subscribers on raw TCP sockets (no HTTP client library:
// it must cost less than the server it measures). Opens them with bounded concurrency, parses every
// event, and per phase counts deliveries, order violations and publish-to-receive latency (the
// publisher stamps each payload with CLOCK_MONOTONIC; this process reads the same clock once per
// socket read, when the bytes reach JavaScript). For the reconnect storm, each subscriber is a
// client that outlives its connections: it remembers the last id it received, closes its stream
// when told, reconnects at once with that id as `Last-Event-ID` (as a browser's EventSource does),
// and in a tracked phase counts every event it received, so that missing and duplicate deliveries
// over all its connections can be told.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type ConnectReport, type Progress, type StormClientReport, type StormReconnectReport, type SubscriberReport, type SubscriberRequest, type Target } from './messages.js';
import { readStamp, type Stamp } from './payloads.js';
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
const stamp: Stamp = { phase: 0, seq: 0, sentUs: 0 }; // the event being counted
const latency = new LatencyHistogram();
/** tracked phase: events a reconnected stream received that were published before its head arrived */
const catchUp = new LatencyHistogram();
let tracking = false;
let cpuAtStart = process.cpuUsage();
let eluAtStart = performance.eventLoopUtilization();
let wallAtStart = performance.now();

const streams = new Set<Stream>();
let open = 0;
/** every subscriber whose first connection opened, in the order they did */
const clients: Client[] = [];

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

/** Highest payload seq a client keeps a count for: anything above is not a bench payload. */
const MAX_TRACKED_SEQ = 10_000_000;

/** One subscriber across its connections, as a browser's EventSource is across reconnects. */
class Client {
  /** the id of the last event received: sent back as Last-Event-ID on a reconnect ('' : none yet) */
  lastId = '';
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

class Stream implements SseEventSink {
  readonly parser = new SseResponseParser(this);
  private lastSeq = 0;
  opened = false;
  /** hrtime (µs) of connect(), and of the read that completed the response head */
  readonly connectUs = nowUs();
  headAtUs = 0;

  constructor(
    readonly socket: net.Socket,
    readonly client: Client,
    /** opened by a storm's reconnect, with the client's Last-Event-ID */
    readonly reconnected: boolean,
  ) {}

  onEvent(id: string, event: string, data: string): void {
    // events are parsed before the read that carried the head is looked at: the head was in this read
    if (this.headAtUs === 0) this.headAtUs = readAtUs;
    const client = this.client;
    if (id !== '') client.lastId = id; // a reset frame's id too: the browser resumes from its position
    if (event === 'reset') {
      resets++;
      if (tracking) client.resets++;
      return;
    }
    // id: <epoch>-<seq>; the server's sequence must only grow on one stream
    const seq = intAt(id, id.lastIndexOf('-') + 1);
    if (seq < 0 || seq <= this.lastSeq) orderViolations++;
    else this.lastSeq = seq;
    if (!readStamp(data, stamp)) {
      malformed++;
      return;
    }
    if (stamp.phase !== phase) {
      stale++;
      return;
    }
    const sent = stamp.sentUs;
    received++;
    if (firstReceiveUs === 0) firstReceiveUs = readAtUs;
    lastReceiveUs = readAtUs;
    latency.record(readAtUs - sent);
    if (tracking) {
      client.mark(stamp.seq);
      if (this.reconnected && sent < this.headAtUs) {
        catchUp.record(readAtUs - sent);
        client.lastCatchUpUs = readAtUs;
      }
    }
  }
}

/** set by `connect`: every stream of this process, reconnects included, asks for gzip or does not */
let acceptGzip = false;

function streamRequest(target: Target, topic: string, lastEventId = ''): string {
  const resume = lastEventId === '' ? '' : `Last-Event-ID: ${lastEventId}\r\n`;
  const encoding = acceptGzip ? 'Accept-Encoding: gzip\r\n' : '';
  return `GET /events?topic=${encodeURIComponent(topic)} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nAccept: text/event-stream\r\n${encoding}${resume}\r\n`;
}

function connect(r: Extract<SubscriberRequest, { type: 'connect' }>): Promise<ConnectReport> {
  const started = performance.now();
  acceptGzip = r.acceptGzip;
  const request = streamRequest(r.target, r.topic);
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
        const client = new Client();
        openOne(r.target, request, r.timeoutMs, client, false, (failure) => {
          if (failure === undefined) clients.push(client);
          settle(failure);
        });
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

function openOne(target: Target, request: string, timeoutMs: number, client: Client, reconnected: boolean, settle: (failure: string | undefined, stream: Stream) => void): void {
  let settled = false;
  const done = (failure: string | undefined): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    settle(failure, stream);
  };
  const onRead = (n: number, buf: Buffer): boolean => {
    bytes += n;
    readAtUs = nowUs();
    const s = stream;
    const ok = s.parser.feed(buf.toString('latin1', 0, n));
    if (!s.opened && !settled && s.parser.headDone) {
      if (s.parser.status !== 200) {
        done(`HTTP ${s.parser.status}`);
        socket.destroy();
        return true;
      }
      if (s.headAtUs === 0) s.headAtUs = readAtUs;
      s.opened = true;
      streams.add(s);
      open++;
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
  const stream = new Stream(socket, client, reconnected);
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
      if (client.stream === stream) client.stream = undefined;
    }
  });
}

/**
 * The storm: at `atUs`, every open stream is closed from this side (all of them in one go), then every
 * one of those clients reconnects at once with its Last-Event-ID. Resolves when every reconnect has
 * its response head or has failed.
 */
function storm(r: Extract<SubscriberRequest, { type: 'storm' }>): Promise<StormReconnectReport> {
  return new Promise((resolve) => {
    const fire = (): void => {
      const waitMs = (r.atUs - nowUs()) / 1000;
      if (waitMs > 2) {
        setTimeout(fire, waitMs - 2);
        return;
      }
      while (nowUs() < r.atUs) {
        // the last 2 ms spin: both generator processes close within a fraction of a millisecond of each other
      }
      const closeStartUs = nowUs();
      const elu0 = performance.eventLoopUtilization();
      const cpu0 = process.cpuUsage();
      const victims = [...streams];
      for (const s of victims) {
        s.opened = false;
        streams.delete(s);
        open--;
        s.client.stream = undefined;
        if (r.close === 'rst') s.socket.resetAndDestroy();
        else s.socket.destroy();
      }
      const closeEndUs = nowUs();
      const report: StormReconnectReport = {
        closed: victims.length,
        reconnected: 0,
        failed: 0,
        failures: {},
        withLastEventId: 0,
        closeStartUs,
        closeEndUs,
        issuedUs: closeEndUs,
        lastHeadUs: 0,
        handshake: new LatencyHistogram().toData(),
        back: new LatencyHistogram().toData(),
        loopUtilization: 0,
        cpuSeconds: 0,
        settledUs: 0,
      };
      const finish = (): void => {
        report.handshake = handshake.toData();
        report.back = back.toData();
        report.loopUtilization = performance.eventLoopUtilization(elu0).utilization;
        const cpu = process.cpuUsage(cpu0);
        report.cpuSeconds = (cpu.user + cpu.system) / 1e6;
        report.settledUs = nowUs();
        resolve(report);
      };
      const handshake = new LatencyHistogram();
      const back = new LatencyHistogram();
      const settle = (failure: string | undefined, s: Stream): void => {
        if (failure === undefined) {
          report.reconnected++;
          s.client.backUs = s.headAtUs;
          handshake.record(s.headAtUs - s.connectUs);
          back.record(s.headAtUs - closeStartUs);
          if (s.headAtUs > report.lastHeadUs) report.lastHeadUs = s.headAtUs;
        } else {
          report.failed++;
          report.failures[failure] = (report.failures[failure] ?? 0) + 1;
        }
        if (report.reconnected + report.failed === report.closed) finish();
      };
      for (const s of victims) {
        const client = s.client;
        if (client.lastId !== '') report.withLastEventId++;
        openOne(r.target, streamRequest(r.target, r.topic, client.lastId), r.timeoutMs, client, true, settle);
      }
      report.issuedUs = nowUs();
      if (victims.length === 0) finish();
    };
    fire();
  });
}

/** Per client over the tracked phase: payload seqs 1..sent are due, except those never accepted. */
function stormReport(sent: number, notAccepted: number[]): StormClientReport {
  const skip = new Set(notAccepted);
  const report: StormClientReport = {
    clients: clients.length,
    missing: 0,
    clientsMissing: 0,
    maxMissing: 0,
    duplicates: 0,
    clientsDuplicates: 0,
    maxDuplicates: 0,
    resets: 0,
    clientsReset: 0,
    catchUp: catchUp.toData(),
    caughtUpUs: 0,
  };
  for (const c of clients) {
    let missing = 0;
    let duplicates = 0;
    for (let seq = 1; seq <= sent; seq++) {
      const n = seq < c.seen.length ? c.seen[seq]! : 0;
      if (n === 0) {
        if (!skip.has(seq)) missing++;
      } else duplicates += n - 1;
    }
    report.missing += missing;
    report.duplicates += duplicates;
    report.resets += c.resets;
    if (missing > 0) report.clientsMissing++;
    if (duplicates > 0) report.clientsDuplicates++;
    if (c.resets > 0) report.clientsReset++;
    report.maxMissing = Math.max(report.maxMissing, missing);
    report.maxDuplicates = Math.max(report.maxDuplicates, duplicates);
    if (c.backUs > 0) report.caughtUpUs = Math.max(report.caughtUpUs, c.backUs, c.lastCatchUpUs);
  }
  return report;
}

function phaseStart(p: number, track: boolean): void {
  phase = p;
  tracking = track;
  if (track) for (const c of clients) c.startTracking();
  catchUp.reset();
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
      return phaseStart(m.phase, m.track === true);
    case 'progress':
      return { received, open } satisfies Progress;
    case 'phase-report':
      return phaseReport();
    case 'disconnect':
      return disconnectAll();
    case 'storm':
      return storm(m);
    case 'storm-report':
      return stormReport(m.sent, m.notAccepted);
  }
});
