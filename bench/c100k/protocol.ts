// The requests `make bench-c100k` sends to its generator processes (bench/c100k/generator-process.ts),
// and their answers. Each request gets exactly one answer (bench/processes.ts).
import type { HistogramData } from '../load/latency-histogram.js';

export type GeneratorRequest =
  /**
   * Opens `count` subscribers from `localAddress` (one loopback address per process: its own ephemeral
   * port range), subscriber i to `broadcast` and to topic `t<(first + i) mod topics>`, their starts
   * spread evenly over `rampMs`, at most `concurrency` handshakes at a time.
   */
  | { type: 'connect'; host: string; port: number; localAddress: string; first: number; count: number; broadcast: string; topics: number; rampMs: number; concurrency: number; timeoutMs: number; reconnectSpreadMs: number }
  /** `track`: remember, per subscriber, every payload seq of the phase it received (missing / duplicate) */
  | { type: 'phase-start'; phase: number; track: boolean }
  | { type: 'progress' }
  /** `due`: tracked phase, the payload seqs every subscriber must have (the publishes answered 202) */
  | { type: 'phase-report'; due: number[] }
  | { type: 'disconnect' };

export interface GeneratorConnectReport {
  connected: number;
  failed: number;
  failures: Record<string, number>;
  /** connect() to response head, per subscriber */
  handshake: HistogramData;
  /** hrtime (µs): first connect() issued, last response head read */
  firstStartUs: number;
  lastHeadUs: number;
  cpuSeconds: number;
}

export interface GeneratorProgress {
  received: number;
  open: number;
  /** reconnects after a close the generator did not ask for: issued, succeeded, failed so far */
  reconnecting: number;
  reconnected: number;
  reconnectFailed: number;
  /** hrtime (µs) of the last reconnect's response head */
  lastBackUs: number;
}

export interface GeneratorPhaseReport {
  openAtStart: number;
  openNow: number;
  received: number;
  /** socket reads that carried at least one event of the phase (a lower bound of the server's writes) */
  eventReads: number;
  stale: number;
  resets: number;
  orderViolations: number;
  malformed: number;
  latency: HistogramData;
  /** per payload seq (index), the longest publish-to-receipt over this process's subscribers (µs; 0: none) */
  lastByEvent: number[];
  /** tracked phase: due deliveries never received, subscribers missing any, deliveries beyond the first */
  missing: number;
  subscribersMissing: number;
  duplicates: number;
  /** tracked phase: subscribers that reconnected during it, and that sent a Last-Event-ID when they did */
  reconnected: number;
  withLastEventId: number;
  cpuSeconds: number;
  /** of cpuSeconds, in the kernel (system time) */
  kernelSeconds: number;
  wallSeconds: number;
}
