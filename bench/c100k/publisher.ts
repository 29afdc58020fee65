// The publisher of `make bench-c100k`, in the orchestrating process (a few requests per second need
// no process of their own): keep-alive connections to the shared port, one request in flight each,
// each tick's due events in one JSON-array publish (consecutive ids), each payload stamped with the
// moment its request is written. A connection the server closes (its process killed) is opened
// again; its request in flight counts as unanswered, and its events are not due to anyone.
import net from 'node:net';
import { nowUs } from '../load/messages.js';
import { payload } from '../load/payloads.js';

interface Connection {
  socket: net.Socket;
  busy: boolean;
  buffer: string;
  /** payload seqs of the request in flight */
  seqs: number[];
}

export interface PublishReport {
  /** events due at the rate over the window */
  target: number;
  /** payload seqs answered 202, in order */
  accepted: number[];
  rejected: number;
  unanswered: number;
  /** due events never written: every connection was busy until the window closed */
  notSent: number;
  /** hrtime (µs) of the first request written */
  firstSendUs: number;
}

export interface PublishPlan {
  phase: number;
  rate: number;
  seconds: number;
  /** the topic of payload seq s (1-based) */
  topicOf: (seq: number) => string;
  payloadBytes: number;
  /** longest wait for the last answers after the window (ms) */
  answerTimeoutMs: number;
  /** called once per tick with the seconds since the window opened (the kill phase kills from here) */
  onTick?: (elapsedSeconds: number) => void;
}

export class Publisher {
  private readonly connections: Connection[] = [];
  private onAnswer: ((c: Connection, status: number | undefined) => void) | undefined;

  private constructor(private readonly host: string, private readonly port: number) {}

  static async open(host: string, port: number, connections: number): Promise<Publisher> {
    const p = new Publisher(host, port);
    await Promise.all(Array.from({ length: connections }, () => p.connectOne()));
    return p;
  }

  private connectOne(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
      const c: Connection = { socket, busy: false, buffer: '', seqs: [] };
      socket.setEncoding('latin1');
      socket.once('connect', () => {
        this.connections.push(c);
        resolve();
      });
      socket.on('data', (d: string) => this.read(c, d));
      socket.on('error', (err) => reject(err));
      socket.on('close', () => {
        const i = this.connections.indexOf(c);
        if (i >= 0) this.connections.splice(i, 1);
        if (c.busy) this.onAnswer?.(c, undefined);
        if (i >= 0) this.connectOne().catch(() => undefined); // the kernel picks a live server
      });
    });
  }

  /** Splits the read into whole responses (status line, headers, Content-Length body). */
  private read(c: Connection, chunk: string): void {
    c.buffer += chunk;
    for (;;) {
      const headEnd = c.buffer.indexOf('\r\n\r\n');
      if (headEnd === -1) return;
      const head = c.buffer.slice(0, headEnd);
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const end = headEnd + 4 + (m ? Number(m[1]) : 0);
      if (c.buffer.length < end) return;
      c.buffer = c.buffer.slice(end);
      this.onAnswer?.(c, Number(head.slice(9, 12)));
    }
  }

  /** Publishes `rate` events/s for `seconds`, ticking every 10 ms at most, and waits for the answers. */
  run(plan: PublishPlan): Promise<PublishReport> {
    const due = Math.round(plan.rate * plan.seconds);
    const tickMs = Math.max(10, 1000 / plan.rate);
    const report: PublishReport = { target: due, accepted: [], rejected: 0, unanswered: 0, notSent: 0, firstSendUs: 0 };
    let next = 1;
    let inFlight = 0;
    const started = performance.now();
    return new Promise((resolve) => {
      let deadline: NodeJS.Timeout | undefined;
      const finish = (): void => {
        clearInterval(ticker);
        clearTimeout(deadline);
        this.onAnswer = undefined;
        for (const c of this.connections) if (c.busy) report.unanswered += c.seqs.length;
        report.accepted.sort((a, b) => a - b);
        resolve(report);
      };
      this.onAnswer = (c, status) => {
        c.busy = false;
        inFlight--;
        if (status === 202) report.accepted.push(...c.seqs);
        else if (status === undefined) report.unanswered += c.seqs.length;
        else report.rejected += c.seqs.length;
        c.seqs = [];
        if (next > due && inFlight === 0) finish();
      };
      const tick = (): void => {
        const elapsed = (performance.now() - started) / 1000;
        plan.onTick?.(elapsed);
        const upTo = Math.min(due, Math.floor(elapsed * plan.rate) + 1);
        if (next > upTo) return;
        const c = this.connections.find((x) => !x.busy && !x.socket.destroyed);
        if (c === undefined) return; // all busy: the due events wait for the next tick
        const sentUs = nowUs();
        if (report.firstSendUs === 0) report.firstSendUs = sentUs;
        const items: string[] = [];
        c.seqs = [];
        for (; next <= upTo; next++) {
          c.seqs.push(next);
          items.push(JSON.stringify({ topic: plan.topicOf(next), data: payload(plan.phase, next, sentUs, plan.payloadBytes) }));
        }
        const body = `[${items.join(',')}]`;
        c.busy = true;
        inFlight++;
        c.socket.write(`POST /publish HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      };
      const ticker = setInterval(() => {
        tick();
        if ((performance.now() - started) / 1000 > plan.seconds + tickMs / 1000) {
          clearInterval(ticker);
          report.notSent = due - next + 1;
          next = due + 1;
          if (inFlight === 0) finish();
          else deadline = setTimeout(finish, plan.answerTimeoutMs);
        }
      }, tickMs);
      tick();
    });
  }

  close(): void {
    const all = [...this.connections];
    this.connections.length = 0;
    for (const c of all) c.socket.destroy();
  }
}
