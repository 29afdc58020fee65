// The load generator's publisher, in a process of its own so that parsing thousands of streams cannot
// delay its clock. Publishes at a fixed rate over a pool of keep-alive TCP connections, one request in
// flight per connection (uWS closes a connection that pipelines a request while an asynchronous answer
// is pending, which is how a sharded server answers a publish), and stamps each payload with the
// moment its request is written. A due event waits when every connection is busy: a server that is
// slow to answer publishes is seen as a publish rate below the target, never hidden.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type PublisherReport, type PublisherRequest, type Target } from './messages.js';
import { payload } from './payloads.js';

interface Connection {
  socket: net.Socket;
  busy: boolean;
  sentUs: number;
  /** payload seq of the request in flight */
  seq: number;
  buffer: string;
  alive: boolean;
}

const connections: Connection[] = [];
const free: Connection[] = [];
let hostHeader = '127.0.0.1';
/** called when a connection becomes free or a response arrives during a publish window */
let onAnswer: ((c: Connection, status: number) => void) | undefined;

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
    if (c.alive) free.push(c);
    onAnswer?.(c, status);
  }
}

function connect(target: Target, count: number): Promise<{ connected: number }> {
  hostHeader = `${target.host}:${target.port}`;
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<void>((resolve, reject) => {
          const socket = net.connect({ host: target.host, port: target.port, noDelay: true });
          const c: Connection = { socket, busy: false, sentUs: 0, seq: 0, buffer: '', alive: true };
          socket.once('connect', () => {
            connections.push(c);
            free.push(c);
            resolve();
          });
          socket.once('error', reject);
          socket.on('data', (d: Buffer) => readResponses(c, d.toString('latin1')));
          socket.on('close', () => {
            c.alive = false;
            const i = free.indexOf(c);
            if (i !== -1) free.splice(i, 1);
            if (c.busy) onAnswer?.(c, 0);
          });
        }),
    ),
  ).then(() => ({ connected: connections.length }));
}

function publish(r: Extract<PublisherRequest, { type: 'publish' }>): Promise<PublisherReport> {
  const total = Math.round(r.rate * r.seconds);
  const path = `/publish?topic=${encodeURIComponent(r.topic)}`;
  const responseLatency = new LatencyHistogram();
  const cpuAtStart = process.cpuUsage();
  const eluAtStart = performance.eventLoopUtilization();
  const wallAtStart = performance.now();
  const start = nowUs();
  const end = start + r.seconds * 1e6;
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

  return new Promise((resolve) => {
    const inFlight = (): number => sent - accepted - rejected - lost;
    const finishIfDone = (): void => {
      if (windowOpen || inFlight() > 0) return;
      clearTimeout(timer);
      onAnswer = undefined;
      const cpu = process.cpuUsage(cpuAtStart);
      resolve({
        target: total,
        sent,
        accepted,
        rejected,
        unanswered: lost,
        notSent: total - sent,
        acceptedPerSecond: accepted / r.seconds,
        firstSendUs,
        lastSendUs,
        responseLatency: responseLatency.toData(),
        maxBacklog,
        notAccepted: notAccepted.sort((a, b) => a - b),
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
        // answers still due get responseTimeoutMs, then count as unanswered
        timer = setTimeout(() => {
          lost += inFlight();
          for (const c of awaitingAnswer) if (notAccepted.length < 10_000) notAccepted.push(c.seq);
          awaitingAnswer.clear();
          finishIfDone();
        }, r.responseTimeoutMs);
        finishIfDone();
        return;
      }
      const due = Math.min(total, Math.floor(((now - start) * r.rate) / 1e6) + 1);
      while (sent < due && free.length > 0) {
        const c = free.pop()!;
        const t = nowUs();
        const body = payload(r.phase, ++sent, t, r.payload);
        c.busy = true;
        c.sentUs = t;
        c.seq = sent;
        awaitingAnswer.add(c);
        c.socket.write(`POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
        if (firstSendUs === 0) firstSendUs = t;
        lastSendUs = t;
      }
      if (due - sent > maxBacklog) maxBacklog = due - sent;
      // Behind (every connection busy): an answer calls tick again. On time: sleep until the next one is due.
      const nextDueUs = start + (sent * 1e6) / r.rate;
      const wait = sent < due ? Math.max(1, (end - now) / 1000) : Math.max(0, (nextDueUs - now) / 1000);
      timer = setTimeout(tick, Math.min(wait, (end - now) / 1000 + 1));
    };

    onAnswer = (c, status) => {
      // not in flight: an answer to a request of an earlier window, already counted there
      if (awaitingAnswer.delete(c)) {
        if (status === 202) {
          accepted++;
          responseLatency.record(nowUs() - c.sentUs);
        } else {
          if (status === 0) lost++;
          else rejected++;
          if (notAccepted.length < 10_000) notAccepted.push(c.seq);
        }
      }
      if (windowOpen) {
        if (timer === undefined || sent < Math.floor(((nowUs() - start) * r.rate) / 1e6) + 1) tick();
      } else finishIfDone();
    };
    tick();
  });
}

serveParent<PublisherRequest>((m): unknown => {
  switch (m.type) {
    case 'connect':
      return connect(m.target, m.connections);
    case 'publish':
      return publish(m);
  }
});
