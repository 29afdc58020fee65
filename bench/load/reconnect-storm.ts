// The reconnect storm, on a subscriber process's side: every open stream is closed at one instant,
// every client reconnects at once with its Last-Event-ID, and afterwards each client's deliveries of
// the tracked phase tell what was missed or delivered twice over all its connections.
import { performance } from 'node:perf_hooks';
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type StormClientReport, type StormReconnectReport, type SubscriberRequest } from './messages.js';
import type { Stream, StreamPool } from './subscriber-streams.js';

/**
 * The storm: at `atUs`, every open stream is closed from this side (all of them in one go), then every
 * one of those clients reconnects at once with its Last-Event-ID. Resolves when every reconnect has
 * its response head or has failed.
 */
export function storm(pool: StreamPool, r: Extract<SubscriberRequest, { type: 'storm' }>): Promise<StormReconnectReport> {
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
      const victims = [...pool.streams];
      for (const s of victims) {
        s.opened = false;
        pool.streams.delete(s);
        pool.open--;
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
        pool.openOne(r.target, pool.request(r.target, r.topic, client.lastId), r.timeoutMs, client, true, settle);
      }
      report.issuedUs = nowUs();
      if (victims.length === 0) finish();
    };
    fire();
  });
}

/** Per client over the tracked phase: payload seqs 1..sent are due, except those never accepted. */
export function stormReport(pool: StreamPool, sent: number, notAccepted: number[]): StormClientReport {
  const skip = new Set(notAccepted);
  const { clients } = pool;
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
    catchUp: pool.counters.catchUp.toData(),
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
