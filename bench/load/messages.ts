// The requests the bench orchestrator sends to its load-generator processes, and their answers.
// One union per kind of child; each request gets exactly one answer (see processes.ts).
import type { HistogramData } from './latency-histogram.js';
import type { Payload } from './payloads.js';

export interface Target {
  host: string;
  port: number;
}

// ---- subscriber processes (bench/load/subscriber-process.ts) ----

export type SubscriberRequest =
  /** `acceptGzip`: ask for gzip (`Accept-Encoding: gzip`); the streams are decoded either way, as their head says */
  | { type: 'connect'; target: Target; topic: string; count: number; concurrency: number; timeoutMs: number; acceptGzip: boolean }
  /** `track`: also count, per client, every event of the phase it received (missing and duplicate deliveries) */
  | { type: 'phase-start'; phase: number; track?: boolean }
  | { type: 'progress' }
  | { type: 'phase-report' }
  | { type: 'disconnect' }
  /** at `atUs` (hrtime), close every open stream from the client side, then reconnect each at once with its Last-Event-ID */
  | { type: 'storm'; atUs: number; target: Target; topic: string; close: StormClose; timeoutMs: number }
  /** per-client delivery counts of the tracked phase: publisher seqs 1..sent are due, except `notAccepted` */
  | { type: 'storm-report'; sent: number; notAccepted: number[] }
  /** from now on, a stream the server closes is reopened after `retryMs` with the client's Last-Event-ID, and again after each failed attempt */
  | { type: 'follow'; target: Target; topic: string; retryMs: number; timeoutMs: number }
  | { type: 'follow-report' };

/** How a storm closes the streams: `fin`, a normal close (a browser, a balancer going away); `rst`, an abort. */
export type StormClose = 'fin' | 'rst';

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

/** One generator process's side of a reconnect storm: the closes and the reconnects. */
export interface StormReconnectReport {
  /** streams open at the storm's moment, all of them closed */
  closed: number;
  /** of those, reconnected (response head read), and failed (status, error or timeout) */
  reconnected: number;
  failed: number;
  failures: Record<string, number>;
  /** clients that sent a Last-Event-ID (those that had received an event with an id) */
  withLastEventId: number;
  /** hrtime (µs): first close, last close, last reconnect issued, last response head read */
  closeStartUs: number;
  closeEndUs: number;
  issuedUs: number;
  lastHeadUs: number;
  /** per reconnect: connect() to response head, and the storm's moment (closeStartUs) to response head */
  handshake: HistogramData;
  back: HistogramData;
  /** this process from its first close until its last reconnect settled: event-loop utilisation (0..1) and CPU seconds */
  loopUtilization: number;
  cpuSeconds: number;
  settledUs: number;
}

/** One generator process's clients over a tracked phase; sums and maxima are over clients. */
export interface StormClientReport {
  clients: number;
  /** due events a client never received (summed over clients), clients with any, the most one client missed */
  missing: number;
  clientsMissing: number;
  maxMissing: number;
  /** deliveries beyond the first of one event to one client */
  duplicates: number;
  clientsDuplicates: number;
  maxDuplicates: number;
  resets: number;
  clientsReset: number;
  /** events received on a reconnected stream that were published before its head arrived: publish to receipt */
  catchUp: HistogramData;
  /** hrtime (µs) at which the slowest client was back and caught up: max over clients of (head, last catch-up receipt); 0 when none reconnected */
  caughtUpUs: number;
}

/** One generator process's clients following a server that goes away (bench/load/following-clients.ts). */
export interface FollowReport {
  /** streams the server closed, reconnects that got a 200 head, attempts that failed (with reasons) */
  serverCloses: number;
  reconnected: number;
  failedAttempts: number;
  failures: Record<string, number>;
  /** clients whose stream was closed at least once, and of those, the ones without an open stream now */
  clientsClosed: number;
  clientsAway: number;
  /** hrtime (µs) of the first close by the server, and of the last reconnect's response head; 0 when none */
  firstCloseUs: number;
  lastHeadUs: number;
  /** per reconnect: the close to the response head of the reconnect that succeeded */
  away: HistogramData;
}

// ---- publisher process (bench/load/publisher-process.ts) ----

export type PublisherRequest =
  | { type: 'connect'; target: Target; connections: number }
  | { type: 'publish'; phase: number; topic: string; rate: number; seconds: number; payload: Payload; responseTimeoutMs: number; retry?: PublishRetry }
  /** ends the publish window in progress now: its answer comes as if `seconds` had been this long */
  | { type: 'stop' };

/**
 * A publisher that outlives its server: every event carries `Idempotency-Key`, a 503 or a connection
 * lost before the answer is sent again with the same key and body after `delayMs` (until the window
 * closes plus responseTimeoutMs), and a closed connection is replaced.
 */
export interface PublishRetry {
  delayMs: number;
}

/** What a retrying publisher met (PublishRetry). */
export interface PublishRetryReport {
  /** answers 503, requests whose connection closed before an answer, connection attempts refused */
  refused: number;
  connectionLost: number;
  connectFailures: number;
  /** requests written again */
  retries: number;
  /** hrtime (µs): the first refusal (503 or lost connection), and the first 202 to a request written after it; 0 when none */
  firstRefusedUs: number;
  acceptedAgainUs: number;
  /** the longest time between two 202 answers (µs), and when it began */
  longestGapUs: number;
  longestGapFromUs: number;
}

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
  /** the payload seqs (1..sent) whose request was not answered 202: rejected, or unanswered (at most 10,000 listed) */
  notAccepted: number[];
  /** with PublishRetry only */
  retries?: PublishRetryReport;
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

/** hrtime in microseconds: CLOCK_MONOTONIC, the same clock in every process on the machine. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}
