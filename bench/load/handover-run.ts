// A server replaced under load, measured from the clients' side: one tracked phase publishes at a
// steady rate with an Idempotency-Key per event (refusals and lost connections retried with the same
// key, closed connections replaced), every subscriber follows its server (reconnects with
// Last-Event-ID whenever its stream is closed, and again after each failed attempt), and at T the
// scenario replaces the server (a handover, or a restart). Afterwards: clients back, missing,
// duplicate and reset deliveries per client over the whole phase, order, the refused window, catch-up
// latency, the old process's exit, and the CPU of both server processes in the second after T.
import { cpuSeconds, machineBusy, machineTicks, type MachineTicks } from '../proc-stats.js';
import type { BenchSettings, HandoverVariant } from '../settings.js';
import { LatencyHistogram, summarise, type LatencySummary } from './latency-histogram.js';
import { TOPIC, type LoadRun } from './load-run.js';
import { nowUs, type FollowReport, type PublisherReport, type PublishRetryReport, type StormClientReport, type SubscriberReport, type Target } from './messages.js';
import { caughtUpAtUs, max, sum, trackedDeliveries, type TrackedDeliveries } from './storm-run.js';

const SAMPLE_MS = 50;
/** the publish window allows for a replacement this slow (s); it ends afterSeconds after the replacement */
const LONGEST_REPLACEMENT_SECONDS = 60;
/** after publishing, clients still away get this long to come back (ms) */
const BACK_WITHIN_MS = 20_000;

/** What the scenario's replacement did, timed from T. */
export interface Replacement {
  /** from T until the new server printed that it listens, and until the old process exited (ms) */
  newListeningMs: number;
  oldExitMs: number;
  oldExit: { code: number | null; signal: string | null };
}

export interface HandoverCpu {
  windowSeconds: number;
  /** cores, each server process and both together (utime + stime from /proc, every thread) */
  oldServerCores: number;
  newServerCores: number;
  serverCores: number;
  /** every generator process together (subscribers and publisher) */
  generatorCores: number;
  /** the whole machine, other tenants included (0..1) */
  machineBusy: number;
}

export interface HandoverResult extends TrackedDeliveries {
  /** streams open when publishing began */
  subscribers: number;
  settings: BenchSettings['handover'];
  published: { target: number; sent: number; accepted: number; notAccepted: number; perSecond: number };
  publishing: PublishRetryReport;
  /** each request written (a retry too) to its 202 */
  publishResponseMs: LatencySummary;
  /** from the first refusal (503 or lost connection) to the first 202 to a request written after it (ms); 0 when nothing was refused */
  refusedWindowMs: number;
  /** the longest time without a 202 (ms) */
  longestGapMs: number;
  replacement: Replacement;
  /** streams the server closed, clients closed at least once, back now, and not back */
  serverCloses: number;
  clientsClosed: number;
  clientsBack: number;
  clientsAway: number;
  failedAttempts: number;
  failures: Record<string, number>;
  /** from T until the last reconnect's response head (ms) */
  allBackMs: number;
  /** per reconnect: the close to the response head of the reconnect that got through */
  awayMs: LatencySummary;
  /** from T until every client was back and had its catch-up events (ms) */
  allCaughtUpMs: number;
  /** the second (cpuWindowSeconds) after T, as long just before T, and from T until every client was back and caught up */
  cpu: HandoverCpu;
  steadyCpu: HandoverCpu;
  switchCpu: HandoverCpu;
  wallSeconds: number;
}

interface Sample {
  us: number;
  /** CPU seconds per server pid: a process that is gone keeps its last reading */
  servers: Map<number, number>;
  generator: number;
  machine: MachineTicks;
}

class CpuSampler {
  readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    /** the server pids so far: the new one is added once it runs */
    readonly serverPids: number[],
    private readonly generatorPids: number[],
  ) {
    this.take();
    this.timer = setInterval(() => this.take(), SAMPLE_MS);
  }

  take(): void {
    const prev = this.samples.at(-1);
    const servers = new Map<number, number>();
    for (const pid of this.serverPids) {
      try {
        servers.set(pid, cpuSeconds(pid));
      } catch {
        servers.set(pid, prev?.servers.get(pid) ?? 0);
      }
    }
    let generator = 0;
    for (const pid of this.generatorPids) {
      try {
        generator += cpuSeconds(pid);
      } catch {
        // ended: the run is over
      }
    }
    this.samples.push({ us: nowUs(), servers, generator, machine: machineTicks() });
  }

  stop(): void {
    clearInterval(this.timer);
    this.take();
  }

  /** CPU between the last sample at or before `fromUs` and the first at or after `toUs`. */
  over(fromUs: number, toUs: number): HandoverCpu {
    const a = [...this.samples].reverse().find((s) => s.us <= fromUs) ?? this.samples[0]!;
    const b = this.samples.find((s) => s.us >= toUs) ?? this.samples.at(-1)!;
    const wall = Math.max(1e-6, (b.us - a.us) / 1e6);
    const cores = (pid: number | undefined): number => (pid === undefined ? 0 : ((b.servers.get(pid) ?? 0) - (a.servers.get(pid) ?? 0)) / wall);
    const [oldPid, newPid] = this.serverPids;
    return {
      windowSeconds: wall,
      oldServerCores: cores(oldPid),
      newServerCores: cores(newPid),
      serverCores: cores(oldPid) + cores(newPid),
      generatorCores: (b.generator - a.generator) / wall,
      machineBusy: machineBusy(a.machine, b.machine),
    };
  }
}

/** Every client's way back, once those still away are back (or BACK_WITHIN_MS passed). */
async function followReports(run: LoadRun): Promise<FollowReport[]> {
  const deadline = performance.now() + BACK_WITHIN_MS;
  for (;;) {
    const reports = await Promise.all(run.subscribers.map((s) => s.request<FollowReport>({ type: 'follow-report' })));
    if (reports.every((r) => r.clientsAway === 0) || performance.now() > deadline) return reports;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The tracked phase on `run` (subscribers connected to `target`, the server `oldPid`): publishing
 * starts, and `replace` is called at T (atSeconds in), with a callback for the new server's pid as
 * soon as it is spawned; it resolves once the new server listens and the old process has exited.
 * Publishing ends afterSeconds later.
 */
export async function handoverPhase(
  run: LoadRun,
  target: Target,
  oldPid: number,
  h: Readonly<BenchSettings['handover']>,
  replace: (spawned: (pid: number) => void) => Promise<Replacement>,
  log?: (line: string) => void,
): Promise<HandoverResult> {
  const phase = run.nextPhase();
  await Promise.all(run.subscribers.map((s) => s.request({ type: 'phase-start', phase, track: true })));
  await Promise.all(run.subscribers.map((s) => s.request({ type: 'follow', target, topic: TOPIC, retryMs: h.reconnectMs, timeoutMs: 20_000 })));
  const sampler = new CpuSampler([oldPid], [...run.subscribers.map((s) => s.pid), run.publisher.pid]);
  const wall0 = performance.now();
  let pub: PublisherReport;
  let replacement: Replacement;
  let follows: FollowReport[];
  let phaseReports: SubscriberReport[];
  let clientReports: StormClientReport[];
  let t = 0;
  try {
    const publishing = run.publisher.request<PublisherReport>({
      type: 'publish',
      phase,
      topic: TOPIC,
      rate: h.rate,
      seconds: h.atSeconds + h.afterSeconds + LONGEST_REPLACEMENT_SECONDS,
      payload: h.payloadBytes,
      responseTimeoutMs: 10_000,
      retry: { delayMs: h.publishRetryMs },
    });
    await new Promise((r) => setTimeout(r, h.atSeconds * 1000));
    t = nowUs();
    replacement = await replace((pid) => sampler.serverPids.push(pid));
    log?.(`new server listening ${Math.round(replacement.newListeningMs)} ms after T, old one exited (${replacement.oldExit.signal ?? replacement.oldExit.code}) ${Math.round(replacement.oldExitMs)} ms after T`);
    await new Promise((r) => setTimeout(r, h.afterSeconds * 1000));
    await run.publisher.request({ type: 'stop' });
    pub = await publishing;
    follows = await followReports(run);
    await run.waitForDeliveries(pub.accepted);
    phaseReports = await Promise.all(run.subscribers.map((s) => s.request<SubscriberReport>({ type: 'phase-report' })));
    clientReports = await Promise.all(run.subscribers.map((s) => s.request<StormClientReport>({ type: 'storm-report', sent: pub.sent, notAccepted: pub.notAccepted })));
  } finally {
    sampler.stop();
  }
  const windowUs = h.cpuWindowSeconds * 1e6;
  const away = new LatencyHistogram();
  const failures: Record<string, number> = {};
  for (const f of follows) {
    away.merge(f.away);
    for (const [k, v] of Object.entries(f.failures)) failures[k] = (failures[k] ?? 0) + v;
  }
  const lastHeadUs = max(follows, (f) => f.lastHeadUs);
  const caughtUpUs = caughtUpAtUs(lastHeadUs, clientReports);
  const retries = pub.retries!;
  const clientsClosed = sum(follows, (f) => f.clientsClosed);
  const clientsAway = sum(follows, (f) => f.clientsAway);
  return {
    subscribers: sum(phaseReports, (r) => r.openAtStart),
    settings: h,
    published: { target: pub.target, sent: pub.sent, accepted: pub.accepted, notAccepted: pub.notAccepted.length, perSecond: pub.acceptedPerSecond },
    publishing: retries,
    publishResponseMs: summarise(LatencyHistogram.from(pub.responseLatency)),
    refusedWindowMs: retries.firstRefusedUs === 0 ? 0 : retries.acceptedAgainUs > 0 ? (retries.acceptedAgainUs - retries.firstRefusedUs) / 1000 : NaN,
    longestGapMs: retries.longestGapUs / 1000,
    replacement,
    serverCloses: sum(follows, (f) => f.serverCloses),
    clientsClosed,
    clientsBack: clientsClosed - clientsAway,
    clientsAway,
    failedAttempts: sum(follows, (f) => f.failedAttempts),
    failures,
    allBackMs: lastHeadUs > 0 ? (lastHeadUs - t) / 1000 : NaN,
    awayMs: summarise(away),
    allCaughtUpMs: caughtUpUs > 0 ? (caughtUpUs - t) / 1000 : NaN,
    ...trackedDeliveries(clientReports, phaseReports, pub.accepted),
    cpu: sampler.over(t, t + windowUs),
    steadyCpu: sampler.over(t - windowUs, t),
    switchCpu: sampler.over(t, Math.max(caughtUpUs, t + windowUs)),
    wallSeconds: (performance.now() - wall0) / 1000,
  };
}

/** One progress line for a replacement. */
export function describeHandover(r: HandoverResult): string {
  const ms = (x: number): string => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')} ms` : 'n/a');
  const p = r.publishing;
  return [
    `${r.clientsBack}/${r.clientsClosed} clients back (${r.clientsAway} not) ${ms(r.allBackMs)} after T, ${r.failedAttempts} failed attempts ${JSON.stringify(r.failures)}`,
    `missing ${r.missing.total} (${r.missing.clients} clients), duplicates ${r.duplicates.total}, resets ${r.resets.total}, order violations ${r.orderViolations}`,
    `${r.published.accepted}/${r.published.target} published, ${p.refused} refused (503), ${p.connectionLost} lost connections, ${p.connectFailures} refused connects, ${p.retries} retries`,
    `refused window ${ms(r.refusedWindowMs)}, longest gap between 202s ${ms(r.longestGapMs)}`,
    `catch-up ${r.catchUpMs.samples} deliveries p99 ${r.catchUpMs.p99} ms`,
    `server ${r.cpu.serverCores.toFixed(2)} cores in the second after T (old ${r.cpu.oldServerCores.toFixed(2)}, new ${r.cpu.newServerCores.toFixed(2)}) vs ${r.steadyCpu.serverCores.toFixed(2)} before, generator ${r.cpu.generatorCores.toFixed(2)}, machine ${Math.round(r.cpu.machineBusy * 100)}% busy`,
    `old server exit ${r.replacement.oldExit.signal ?? r.replacement.oldExit.code}`,
  ].join(', ');
}
