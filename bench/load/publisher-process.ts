// The load generator's publisher, in a process of its own so that parsing thousands of streams cannot
// delay its clock. Publishes at a fixed rate over a pool of keep-alive TCP connections, one request in
// flight per connection (uWS closes a connection that pipelines a request while an asynchronous answer
// is pending, which is how a sharded server answers a publish), and stamps each payload with the
// moment its request is written. A due event waits when every connection is busy: a server that is
// slow to answer publishes is seen as a publish rate below the target, never hidden. With `retry`
// (a server replaced while it runs: bench/load/handover-run.ts), every event has an Idempotency-Key,
// a refused or unanswered one is sent again with the same key and body, and closed connections are
// replaced.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type PublisherReport, type PublisherRequest, type PublishRetryReport, type Target } from './messages.js';
import { payload } from './payloads.js';

interface Connection {
  socket: net.Socket;
  busy: boolean;
  sentUs: number;
  /** payload seq of the request in flight */
  seq: number;
  buffer: string;
  alive: boolean;
  /** the server said `Connection: close`: the next request must go on another connection */
  closing: boolean;
}

const connections: Connection[] = [];
const free: Connection[] = [];
let hostHeader = '127.0.0.1';
/** called when a connection becomes free or a response arrives during a publish window */
let onAnswer: ((c: Connection, status: number) => void) | undefined;
/** set by a retrying publish: told of every connection that closed */
let onClosed: (() => void) | undefined;
/** ends the publish window in progress now (a `stop` request) */
let stopWindow: (() => void) | undefined;

/** Splits the read into whole responses (status line, headers, Content-Length body). */
function readResponses(c: Connection, chunk: string): void {
  c.buffer += chunk;
  for (;;) {
    const headEnd = c.buffer.indexOf('\r\n\r\n');
    if (headEnd === -1) return;
    const head = c.buffer.slice(0, headEnd);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = m ? Number(m[1]) : 0;
    if (c.buffer.length < headEnd + 4 + length) return;
    c.buffer = c.buffer.slice(headEnd + 4 + length);
    c.busy = false;
    if (/\r\nconnection:\s*close/i.test(head)) c.closing = true;
    if (c.alive && !c.closing) free.push(c);
    onAnswer?.(c, status);
  }
}

let target: Target = { host: '127.0.0.1', port: 0 };

function openConnection(): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
    const c: Connection = { socket, busy: false, sentUs: 0, seq: 0, buffer: '', alive: true, closing: false };
    let opened = false;
    socket.once('connect', () => {
      opened = true;
      connections.push(c);
      free.push(c);
      resolve();
    });
    socket.on('error', reject); // once connected, a no-op: the close below tells
    socket.on('data', (d: Buffer) => readResponses(c, d.toString('latin1')));
    socket.on('close', () => {
      c.alive = false;
      const i = free.indexOf(c);
      if (i !== -1) free.splice(i, 1);
      const j = connections.indexOf(c);
      if (j !== -1) connections.splice(j, 1);
      if (c.busy) onAnswer?.(c, 0);
      if (opened) onClosed?.(); // a failed attempt is retried by whoever made it
    });
  });
}

function connect(to: Target, count: number): Promise<{ connected: number }> {
  target = to;
  hostHeader = `${to.host}:${to.port}`;
  return Promise.all(Array.from({ length: count }, openConnection)).then(() => ({ connected: connections.length }));
}

/** The retrying publisher's tally (PublishRetryReport) as answers come in. */
class RetryTally {
  readonly report: PublishRetryReport = { refused: 0, connectionLost: 0, connectFailures: 0, retries: 0, firstRefusedUs: 0, acceptedAgainUs: 0, longestGapUs: 0, longestGapFromUs: 0 };
  private lastAcceptedUs = 0;

  refusal(status: number): void {
    if (status === 0) this.report.connectionLost++;
    else this.report.refused++;
    if (this.report.firstRefusedUs === 0) this.report.firstRefusedUs = nowUs();
  }

  accepted(sentUs: number): void {
    const now = nowUs();
    const r = this.report;
    if (r.firstRefusedUs > 0 && r.acceptedAgainUs === 0 && sentUs > r.firstRefusedUs) r.acceptedAgainUs = now;
    if (this.lastAcceptedUs > 0 && now - this.lastAcceptedUs > r.longestGapUs) {
      r.longestGapUs = now - this.lastAcceptedUs;
      r.longestGapFromUs = this.lastAcceptedUs;
    }
    this.lastAcceptedUs = now;
  }
}

function publish(r: Extract<PublisherRequest, { type: 'publish' }>): Promise<PublisherReport> {
  let total = Math.round(r.rate * r.seconds);
  const path = `/publish?topic=${encodeURIComponent(r.topic)}`;
  const responseLatency = new LatencyHistogram();
  const cpuAtStart = process.cpuUsage();
  const eluAtStart = performance.eventLoopUtilization();
  const wallAtStart = performance.now();
  const start = nowUs();
  let end = start + r.seconds * 1e6;
  let sent = 0;
  let accepted = 0;
  let rejected = 0;
  let lost = 0;
  let firstSendUs = 0;
  let lastSendUs = 0;
  let maxBacklog = 0;
  const notAccepted: number[] = [];
  const awaitingAnswer = new Set<Connection>();
  let windowOpen = true;
  let timer: NodeJS.Timeout | undefined;
  // retrying: the body of every event not yet answered 202 (a retry must be the same request), and the events waiting to be sent again
  const retry = r.retry;
  const tally = retry === undefined ? undefined : new RetryTally();
  const bodies = new Map<number, string>();
  const retryQueue: number[] = [];
  let retryUntil = end + r.responseTimeoutMs * 1000;

  const write = (c: Connection, seq: number, body: string, t: number): void => {
    c.busy = true;
    c.sentUs = t;
    c.seq = seq;
    awaitingAnswer.add(c);
    const key = retry === undefined ? '' : `Idempotency-Key: bench-${r.phase}-${seq}\r\n`;
    c.socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: text/plain\r\n${key}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };
  const sendRetries = (): void => {
    while (retryQueue.length > 0 && free.length > 0) {
      const seq = retryQueue.shift()!;
      tally!.report.retries++;
      write(free.pop()!, seq, bodies.get(seq)!, nowUs());
    }
  };

  return new Promise((resolve) => {
    const inFlight = (): number => sent - accepted - rejected - lost;
    const finishIfDone = (): void => {
      if (windowOpen || inFlight() > 0) return;
      clearTimeout(timer);
      onAnswer = undefined;
      onClosed = undefined;
      stopWindow = undefined;
      const cpu = process.cpuUsage(cpuAtStart);
      resolve({
        target: total,
        sent,
        accepted,
        rejected,
        unanswered: lost,
        notSent: total - sent,
        acceptedPerSecond: accepted / ((end - start) / 1e6),
        firstSendUs,
        lastSendUs,
        responseLatency: responseLatency.toData(),
        maxBacklog,
        notAccepted: notAccepted.sort((a, b) => a - b),
        ...(tally === undefined ? {} : { retries: tally.report }),
        cpuSeconds: (cpu.user + cpu.system) / 1e6,
        wallSeconds: (performance.now() - wallAtStart) / 1000,
        eventLoopUtilization: performance.eventLoopUtilization(eluAtStart).utilization,
      });
    };

    const tick = (): void => {
      clearTimeout(timer);
      timer = undefined;
      if (!windowOpen) return;
      const now = nowUs();
      if (now >= end || sent >= total) {
        windowOpen = false;
        // answers still due (and retries) get responseTimeoutMs, then count as unanswered
        timer = setTimeout(() => {
          lost += inFlight();
          for (const c of awaitingAnswer) if (notAccepted.length < 10_000) notAccepted.push(c.seq);
          for (const seq of bodies.keys()) if (notAccepted.length < 10_000 && !notAccepted.includes(seq)) notAccepted.push(seq);
          awaitingAnswer.clear();
          finishIfDone();
        }, r.responseTimeoutMs);
        sendRetries();
        finishIfDone();
        return;
      }
      if (retry !== undefined) sendRetries();
      const due = Math.min(total, Math.floor(((now - start) * r.rate) / 1e6) + 1);
      while (sent < due && free.length > 0) {
        const t = nowUs();
        const body = payload(r.phase, ++sent, t, r.payload);
        if (retry !== undefined) bodies.set(sent, body);
        write(free.pop()!, sent, body, t);
        if (firstSendUs === 0) firstSendUs = t;
        lastSendUs = t;
      }
      if (due - sent > maxBacklog) maxBacklog = due - sent;
      // Behind (every connection busy): an answer calls tick again. On time: sleep until the next one is due.
      const nextDueUs = start + (sent * 1e6) / r.rate;
      const wait = sent < due ? Math.max(1, (end - now) / 1000) : Math.max(0, (nextDueUs - now) / 1000);
      timer = setTimeout(tick, Math.min(wait, (end - now) / 1000 + 1));
    };
    const more = (): void => (windowOpen ? tick() : sendRetries());
    stopWindow = () => {
      end = Math.min(end, nowUs());
      total = Math.min(total, Math.max(sent, Math.floor(((end - start) * r.rate) / 1e6)));
      retryUntil = end + r.responseTimeoutMs * 1000;
      tick();
    };

    onAnswer = (c, status) => {
      // not in flight: an answer to a request of an earlier window, already counted there
      if (awaitingAnswer.delete(c)) {
        if (status === 202) {
          accepted++;
          bodies.delete(c.seq);
          tally?.accepted(c.sentUs);
          responseLatency.record(nowUs() - c.sentUs);
        } else if (tally !== undefined && (status === 503 || status === 0) && nowUs() < retryUntil) {
          // nothing published (503), or not known (the connection went): the same key again, a little later
          tally.refusal(status);
          const seq = c.seq;
          setTimeout(() => {
            retryQueue.push(seq);
            more();
          }, retry!.delayMs);
        } else {
          if (status === 0) lost++;
          else rejected++;
          bodies.delete(c.seq);
          if (notAccepted.length < 10_000) notAccepted.push(c.seq);
        }
      }
      if (windowOpen) {
        if (timer === undefined || retryQueue.length > 0 || sent < Math.floor(((nowUs() - start) * r.rate) / 1e6) + 1) tick();
      } else {
        sendRetries();
        finishIfDone();
      }
    };
    if (retry !== undefined) {
      // a server that closes a connection (draining, or gone) gets a new one from whoever listens now;
      // refused, it tries again later and later (up to 100 ms), as clients do, not to flood a starting server
      const replace = (waitMs: number): void => {
        if (onClosed === undefined || nowUs() >= retryUntil) return;
        openConnection().then(more, () => {
          tally!.report.connectFailures++;
          setTimeout(() => replace(Math.min(100, waitMs * 2)), waitMs);
        });
      };
      onClosed = () => setTimeout(() => replace(Math.max(1, retry.delayMs)), retry.delayMs);
    }
    tick();
  });
}

serveParent<PublisherRequest>((m): unknown => {
  switch (m.type) {
    case 'connect':
      return connect(m.target, m.connections);
    case 'publish':
      return publish(m);
    case 'stop':
      return stopWindow?.();
  }
});
