// The requests the bench orchestrator sends to its load-generator processes, and their answers.
// One union per kind of child; each request gets exactly one answer (see processes.ts).
import type { HistogramData } from './latency-histogram.js';

export interface Target {
  host: string;
  port: number;
}

// ---- subscriber processes (bench/load/subscriber-process.ts) ----

export type SubscriberRequest =
  | { type: 'connect'; target: Target; topic: string; count: number; concurrency: number; timeoutMs: number }
  | { type: 'phase-start'; phase: number }
  | { type: 'progress' }
  | { type: 'phase-report' }
  | { type: 'disconnect' };

export interface ConnectReport {
  connected: number;
  failed: number;
  /** a few distinct failure reasons, with counts */
  failures: Record<string, number>;
  seconds: number;
}

export interface Progress {
  received: number;
  open: number;
}

export interface SubscriberReport {
  /** streams open when the phase started, and when it was reported */
  openAtStart: number;
  openNow: number;
  /** events of this phase received (each counted once per stream) */
  received: number;
  /** events of an earlier phase that arrived during this one */
  stale: number;
  /** reset frames (event: reset): the server told a stream it missed events */
  resets: number;
  /** an event whose id is missing or not greater than the previous one on the same stream (reordered, duplicated) */
  orderViolations: number;
  /** events whose data was not a bench payload */
  malformed: number;
  /** bytes read from the sockets, framing and heartbeats included */
  bytes: number;
  /** hrtime (µs) of the first and last read that carried an event of this phase; 0 when none */
  firstReceiveUs: number;
  lastReceiveUs: number;
  latency: HistogramData;
  /** this process: CPU seconds (user + system), wall seconds, event-loop utilisation (0..1) */
  cpuSeconds: number;
  wallSeconds: number;
  eventLoopUtilization: number;
}

// ---- publisher process (bench/load/publisher-process.ts) ----

export type PublisherRequest =
  | { type: 'connect'; target: Target; connections: number }
  | { type: 'publish'; phase: number; topic: string; rate: number; seconds: number; payloadBytes: number; responseTimeoutMs: number };

export interface PublisherReport {
  /** events due at the target rate over the window */
  target: number;
  /** requests written, and answered 202 / otherwise / not at all */
  sent: number;
  accepted: number;
  rejected: number;
  unanswered: number;
  /** due events never sent because every connection was busy until the window closed */
  notSent: number;
  /** accepted events per second over the publishing window */
  acceptedPerSecond: number;
  /** hrtime (µs) of the first and last request written */
  firstSendUs: number;
  lastSendUs: number;
  /** time from writing a request to reading its 202 */
  responseLatency: HistogramData;
  /** largest number of due events waiting for a free connection */
  maxBacklog: number;
  cpuSeconds: number;
  wallSeconds: number;
  eventLoopUtilization: number;
}

// ---- autocannon process (bench/load/autocannon-process.ts) ----

export type AutocannonRequest = {
  type: 'autocannon';
  url: string;
  body: string;
  connections: number;
  pipelining: number;
  seconds: number;
};

export interface AutocannonReport {
  requestsPerSecond: number;
  requests: number;
  accepted: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  cpuSeconds: number;
  wallSeconds: number;
}

/** The payload of every published event: `<phase> <seq> <sent µs> ` padded to the payload size. */
export function payload(phase: number, seq: number, sentUs: number, bytes: number): string {
  const head = `${phase} ${seq} ${sentUs} `;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

/** hrtime in microseconds: CLOCK_MONOTONIC, the same clock in every process on the machine. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
