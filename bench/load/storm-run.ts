// A reconnect storm on a LoadRun's subscribers: one tracked phase publishes at a steady rate for
// beforeSeconds + afterSeconds; at T (beforeSeconds in), every generator process closes all its
// streams from the client side at the same instant (the parent hands both the same CLOCK_MONOTONIC
// moment) and reconnects each at once with the last id it received as Last-Event-ID. Afterwards:
// how long until every client was back and caught up, handshake and catch-up latency, per-client
// missing and duplicate deliveries over the whole phase, and the CPU of the server and of the
// generator in the storm window against a steady window of the same length just before T, from
// /proc samples taken every 50 ms, and the kernel's count of SYNs dropped at full accept queues over
// the phase (they decide how long a storm takes: a dropped SYN is sent again 1 s later, then 3 s...).
import { cpuSeconds, machineBusy, machineTicks, memory, tcpCounters, threadTimes, type MachineTicks, type TcpCounters } from '../proc-stats.js';
import type { BenchSettings } from '../settings.js';
import { LatencyHistogram, summarise, type LatencySummary } from './latency-histogram.js';
import { TOPIC, type LoadRun } from './load-run.js';
import { nowUs, type PublisherReport, type StormClientReport, type StormReconnectReport, type SubscriberReport, type Target } from './messages.js';

const SAMPLE_MS = 100;

export interface StormCpu {
  /** the window (s) and the CPU used in it */
  windowSeconds: number;
  /** server: utime + stime of every server process (all threads) */
  serverCpuSeconds: number;
  serverCores: number;
  /** every generator process (subscribers and publisher) together, and the busiest subscriber process */
  generatorCores: number;
  busiestSubscriberCore: number;
  publisherCore: number;
  /** the whole machine, other tenants included */
  machineBusy: number;
  /** time runnable but without a CPU, summed over threads, per second of the window (ms/s): the server's, and every generator process's */
  serverRunQueueMsPerSecond: number;
  generatorRunQueueMsPerSecond: number;
}

/** What the clients of a tracked phase received, over every generator process (a storm, a handover). */
export interface TrackedDeliveries {
  /** events received on a reconnected stream that were published before its head arrived: publish to receipt */
  catchUpMs: LatencySummary;
  /** over the whole phase, per client, summed over clients */
  missing: { total: number; clients: number; maxPerClient: number };
  duplicates: { total: number; clients: number; maxPerClient: number };
  resets: { total: number; clients: number };
  orderViolations: number;
  malformed: number;
  /** deliveries received, and due (accepted × clients) */
  received: number;
  expected: number;
  /** publish to receipt, every delivery of the phase */
  latencyMs: LatencySummary;
}

export const sum = <T>(xs: T[], f: (x: T) => number): number => xs.reduce((a, x) => a + f(x), 0);
export const max = <T>(xs: T[], f: (x: T) => number): number => Math.max(0, ...xs.map(f));

export function trackedDeliveries(clientReports: StormClientReport[], phaseReports: SubscriberReport[], accepted: number): TrackedDeliveries {
  const catchUp = new LatencyHistogram();
  const latency = new LatencyHistogram();
  for (const r of clientReports) catchUp.merge(r.catchUp);
  for (const r of phaseReports) latency.merge(r.latency);
  return {
    catchUpMs: summarise(catchUp),
    missing: { total: sum(clientReports, (r) => r.missing), clients: sum(clientReports, (r) => r.clientsMissing), maxPerClient: max(clientReports, (r) => r.maxMissing) },
    duplicates: { total: sum(clientReports, (r) => r.duplicates), clients: sum(clientReports, (r) => r.clientsDuplicates), maxPerClient: max(clientReports, (r) => r.maxDuplicates) },
    resets: { total: sum(clientReports, (r) => r.resets), clients: sum(clientReports, (r) => r.clientsReset) },
    orderViolations: sum(phaseReports, (r) => r.orderViolations),
    malformed: sum(phaseReports, (r) => r.malformed),
    received: sum(phaseReports, (r) => r.received),
    expected: accepted * sum(clientReports, (r) => r.clients),
    latencyMs: summarise(latency),
  };
}

/** hrtime (µs) at which the slowest client was back (lastHeadUs, 0 when none was) and had its catch-up events. */
export function caughtUpAtUs(lastHeadUs: number, clientReports: StormClientReport[]): number {
  return Math.max(lastHeadUs, max(clientReports, (r) => r.caughtUpUs));
}

export interface StormResult extends TrackedDeliveries {
  subscribers: number;
  rate: number;
  payloadBytes: number;
  beforeSeconds: number;
  afterSeconds: number;
  close: BenchSettings['storm']['close'];
  published: { target: number; sent: number; accepted: number; notAccepted: number; perSecond: number };
  /** streams closed at T, reconnected, failed to reconnect (with reasons), reconnects that carried a Last-Event-ID */
  closed: number;
  reconnected: number;
  failed: number;
  failures: Record<string, number>;
  withLastEventId: number;
  /** from the first close to the last, over every generator process (ms) */
  closeSpreadMs: number;
  /**
   * The generator while reconnecting (from its first close until its last reconnect settled): the
   * busiest process's event-loop utilisation (0..1) and CPU (cores). A loop near 1 reads response
   * heads late: handshake and back times then include the generator's own delay.
   */
  generatorReconnecting: { busiestLoop: number; busiestCore: number };
  /** from T until the last reconnect was issued (ms) */
  issuedMs: number;
  /** from T until the last response head of a reconnect (ms): every client back */
  allBackMs: number;
  /** per client, T to the response head of its reconnect */
  backMs: LatencySummary;
  /** per reconnect, connect() to response head */
  handshakeMs: LatencySummary;
  /** from T until every client was back and had received its catch-up events (ms) */
  allCaughtUpMs: number;
  steady: StormCpu;
  storm: StormCpu;
  /** server CPU the storm cost beyond the steady rate: storm CPU − steady cores × storm window (s) */
  serverExtraCpuSeconds: number;
  serverPeakRssMiB: number;
  /** every generator process over the whole phase */
  generatorCpuSeconds: number;
  /** the kernel's TCP counters over the phase: the whole network namespace, so other tenants' connections count too */
  kernel: TcpCounters;
  wallSeconds: number;
}

interface Sample {
  us: number;
  server: number;
  subscribers: number[];
  publisher: number;
  machine: MachineTicks;
  /** run-queue seconds summed over threads */
  serverWait: number;
  generatorWait: number;
}

function runQueueSeconds(pids: number[]): number {
  let wait = 0;
  for (const pid of pids) {
    try {
      for (const t of threadTimes(pid).values()) wait += t.wait;
    } catch {
      // gone
    }
  }
  return wait;
}

function sample(serverPids: number[], subscriberPids: number[], publisherPid: number): Sample {
  const safe = (pid: number): number => {
    try {
      return cpuSeconds(pid);
    } catch {
      return NaN; // gone: the window will show n/a rather than a wrong figure
    }
  };
  return {
    us: nowUs(),
    server: serverPids.reduce((a, pid) => a + safe(pid), 0),
    subscribers: subscriberPids.map(safe),
    publisher: safe(publisherPid),
    machine: machineTicks(),
    serverWait: runQueueSeconds(serverPids),
    generatorWait: runQueueSeconds([...subscriberPids, publisherPid]),
  };
}

/** CPU between the last sample at or before `fromUs` and the first at or after `toUs`. */
function cpuOver(samples: Sample[], fromUs: number, toUs: number): StormCpu {
  const a = [...samples].reverse().find((s) => s.us <= fromUs) ?? samples[0]!;
  const b = samples.find((s) => s.us >= toUs) ?? samples[samples.length - 1]!;
  const wall = Math.max(1e-6, (b.us - a.us) / 1e6);
  const subs = b.subscribers.map((x, i) => x - a.subscribers[i]!);
  const publisher = b.publisher - a.publisher;
  const server = b.server - a.server;
  return {
    windowSeconds: wall,
    serverCpuSeconds: server,
    serverCores: server / wall,
    generatorCores: (subs.reduce((x, y) => x + y, 0) + publisher) / wall,
    busiestSubscriberCore: Math.max(...subs) / wall,
    publisherCore: publisher / wall,
    machineBusy: machineBusy(a.machine, b.machine),
    serverRunQueueMsPerSecond: ((b.serverWait - a.serverWait) * 1000) / wall,
    generatorRunQueueMsPerSecond: ((b.generatorWait - a.generatorWait) * 1000) / wall,
  };
}

export async function stormPhase(run: LoadRun, target: Target, st: Readonly<BenchSettings['storm']>, log?: (line: string) => void): Promise<StormResult> {
  const phase = run.nextPhase();
  await Promise.all(run.subscribers.map((s) => s.request({ type: 'phase-start', phase, track: true })));
  const subscriberPids = run.subscribers.map((s) => s.pid);
  const samples: Sample[] = [sample(run.pids, subscriberPids, run.publisher.pid)];
  let peakRss = 0;
  const sampler = setInterval(() => {
    samples.push(sample(run.pids, subscriberPids, run.publisher.pid));
    try {
      peakRss = Math.max(peakRss, run.pids.reduce((a, pid) => a + memory(pid).rss, 0));
    } catch {
      // the server died; the figures will show it
    }
  }, SAMPLE_MS);

  const tcp0 = tcpCounters();
  const wall0 = performance.now();
  let pub: PublisherReport;
  let storms: StormReconnectReport[];
  let phaseReports: SubscriberReport[];
  let clientReports: StormClientReport[];
  try {
    const publishing = run.publisher.request<PublisherReport>({ type: 'publish', phase, topic: TOPIC, rate: st.rate, seconds: st.beforeSeconds + st.afterSeconds, payload: st.payloadBytes, responseTimeoutMs: 10_000 });
    const atUs = nowUs() + st.beforeSeconds * 1e6;
    storms = await Promise.all(run.subscribers.map((s) => s.request<StormReconnectReport>({ type: 'storm', atUs, target, topic: TOPIC, close: st.close, timeoutMs: st.reconnectTimeoutMs })));
    const back = Math.max(...storms.map((r) => r.lastHeadUs)) - Math.min(...storms.map((r) => r.closeStartUs));
    log?.(`storm: ${storms.reduce((a, r) => a + r.closed, 0)} streams closed, ${storms.reduce((a, r) => a + r.reconnected, 0)} back within ${(back / 1000).toFixed(0)} ms`);
    pub = await publishing;
    await run.waitForDeliveries(pub.accepted);
    phaseReports = await Promise.all(run.subscribers.map((s) => s.request<SubscriberReport>({ type: 'phase-report' })));
    clientReports = await Promise.all(run.subscribers.map((s) => s.request<StormClientReport>({ type: 'storm-report', sent: pub.sent, notAccepted: pub.notAccepted })));
  } finally {
    clearInterval(sampler);
  }
  samples.push(sample(run.pids, subscriberPids, run.publisher.pid));
  const wall = (performance.now() - wall0) / 1000;
  const tcp1 = tcpCounters();

  const t = Math.min(...storms.map((r) => r.closeStartUs));
  const handshake = new LatencyHistogram();
  const backHist = new LatencyHistogram();
  const failures: Record<string, number> = {};
  for (const r of storms) {
    handshake.merge(r.handshake);
    backHist.merge(r.back);
    for (const [k, v] of Object.entries(r.failures)) failures[k] = (failures[k] ?? 0) + v;
  }
  const lastHeadUs = max(storms, (r) => r.lastHeadUs);
  const caughtUpUs = caughtUpAtUs(lastHeadUs, clientReports);

  // The storm window: from T until every client is back and caught up, at least windowSeconds; the
  // steady window: as long, ending at T (shorter when publishing had not been going on that long).
  const stormEnd = Math.max(caughtUpUs, t + st.windowSeconds * 1e6);
  const steadyStart = Math.max(samples[0]!.us, t - (stormEnd - t));
  const steady = cpuOver(samples, steadyStart, t);
  const storm = cpuOver(samples, t, stormEnd);
  const whole = cpuOver(samples, samples[0]!.us, samples[samples.length - 1]!.us);

  return {
    subscribers: sum(phaseReports, (r) => r.openAtStart),
    rate: st.rate,
    payloadBytes: st.payloadBytes,
    beforeSeconds: st.beforeSeconds,
    afterSeconds: st.afterSeconds,
    close: st.close,
    published: { target: pub.target, sent: pub.sent, accepted: pub.accepted, notAccepted: pub.notAccepted.length, perSecond: pub.acceptedPerSecond },
    closed: sum(storms, (r) => r.closed),
    reconnected: sum(storms, (r) => r.reconnected),
    failed: sum(storms, (r) => r.failed),
    failures,
    withLastEventId: sum(storms, (r) => r.withLastEventId),
    closeSpreadMs: (max(storms, (r) => r.closeEndUs) - t) / 1000,
    generatorReconnecting: {
      busiestLoop: max(storms, (r) => r.loopUtilization),
      busiestCore: max(storms, (r) => (r.settledUs > r.closeStartUs ? r.cpuSeconds / ((r.settledUs - r.closeStartUs) / 1e6) : 0)),
    },
    issuedMs: (max(storms, (r) => r.issuedUs) - t) / 1000,
    allBackMs: lastHeadUs > 0 ? (lastHeadUs - t) / 1000 : NaN,
    backMs: summarise(backHist),
    handshakeMs: summarise(handshake),
    allCaughtUpMs: caughtUpUs > 0 ? (caughtUpUs - t) / 1000 : NaN,
    ...trackedDeliveries(clientReports, phaseReports, pub.accepted),
    steady,
    storm,
    serverExtraCpuSeconds: storm.serverCpuSeconds - steady.serverCores * storm.windowSeconds,
    serverPeakRssMiB: peakRss / 2 ** 20,
    generatorCpuSeconds: whole.generatorCores * whole.windowSeconds,
    kernel: {
      listenOverflows: tcp1.listenOverflows - tcp0.listenOverflows,
      listenDrops: tcp1.listenDrops - tcp0.listenDrops,
      synRetransmits: tcp1.synRetransmits - tcp0.synRetransmits,
      synCookies: tcp1.synCookies - tcp0.synCookies,
    },
    wallSeconds: wall,
  };
}

/** One progress line for a storm. */
export function describeStorm(r: StormResult): string {
  const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')} ms` : 'n/a');
  return [
    `${r.reconnected}/${r.closed} back${r.failed > 0 ? ` (${r.failed} failed ${JSON.stringify(r.failures)})` : ''} ${ms(r.allBackMs)} after T (closes spread over ${r.closeSpreadMs.toFixed(1)} ms, reconnects issued by ${ms(r.issuedMs)})`,
    `handshake p50 ${r.handshakeMs.p50} ms p99 ${r.handshakeMs.p99} ms`,
    `catch-up ${r.catchUpMs.samples} events p99 ${r.catchUpMs.p99} ms, all caught up ${ms(r.allCaughtUpMs)} after T`,
    `missing ${r.missing.total} (${r.missing.clients} clients), duplicates ${r.duplicates.total}, resets ${r.resets.total}`,
    `${r.published.accepted}/${r.published.target} published (${Math.round(r.published.perSecond)}/s)`,
    `server ${r.storm.serverCores.toFixed(2)} cores in the ${r.storm.windowSeconds.toFixed(2)} s storm window vs ${r.steady.serverCores.toFixed(2)} steady (${r.serverExtraCpuSeconds.toFixed(2)} CPU s extra)`,
    `generator ${r.storm.generatorCores.toFixed(2)} cores (busiest subscriber process ${Math.round(r.storm.busiestSubscriberCore * 100)}%; while reconnecting, loop ${Math.round(r.generatorReconnecting.busiestLoop * 100)}% busy, ${Math.round(r.generatorReconnecting.busiestCore * 100)}% of a core)`,
    `run queue: server ${Math.round(r.storm.serverRunQueueMsPerSecond)} ms/s, generator ${Math.round(r.storm.generatorRunQueueMsPerSecond)} ms/s`,
    `machine ${Math.round(r.storm.machineBusy * 100)}% busy`,
    `kernel: ${r.kernel.listenOverflows} accept-queue overflows, ${r.kernel.synRetransmits} SYN retransmits`,
  ].join(', ');
}
