// What a subscriber process counts per phase, over all its streams: deliveries, stale and malformed
// payloads, reset frames, order violations, bytes, publish-to-receive latency, and its own cost.
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './latency-histogram.js';
import type { SubscriberReport } from './messages.js';

export class PhaseCounters {
  phase = 0;
  received = 0;
  stale = 0;
  resets = 0;
  orderViolations = 0;
  malformed = 0;
  bytes = 0;
  firstReceiveUs = 0;
  lastReceiveUs = 0;
  openAtStart = 0;
  /** hrtime (µs) of the socket read being parsed: the clock is read once per read */
  readAtUs = 0;
  readonly latency = new LatencyHistogram();
  /** tracked phase: events a reconnected stream received that were published before its head arrived */
  readonly catchUp = new LatencyHistogram();
  tracking = false;
  private cpuAtStart = process.cpuUsage();
  private eluAtStart = performance.eventLoopUtilization();
  private wallAtStart = performance.now();

  /** `open`: the streams open now */
  start(phase: number, track: boolean, open: number): void {
    this.phase = phase;
    this.tracking = track;
    this.catchUp.reset();
    this.received = this.stale = this.resets = this.orderViolations = this.malformed = this.bytes = 0;
    this.firstReceiveUs = this.lastReceiveUs = 0;
    this.latency.reset();
    this.openAtStart = open;
    this.cpuAtStart = process.cpuUsage();
    this.eluAtStart = performance.eventLoopUtilization();
    this.wallAtStart = performance.now();
  }

  report(open: number): SubscriberReport {
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      openAtStart: this.openAtStart,
      openNow: open,
      received: this.received,
      stale: this.stale,
      resets: this.resets,
      orderViolations: this.orderViolations,
      malformed: this.malformed,
      bytes: this.bytes,
      firstReceiveUs: this.firstReceiveUs,
      lastReceiveUs: this.lastReceiveUs,
      latency: this.latency.toData(),
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      wallSeconds: (performance.now() - this.wallAtStart) / 1000,
      eventLoopUtilization: performance.eventLoopUtilization(this.eluAtStart).utilization,
    };
  }
}
