// Long because one phase measures everything at once (server, generator, machine) and the verdict on who saturated needs all of it in one place.
// One server under load: subscriber processes (BENCH_GENERATOR_PROCESSES, 2 by default) and one
// publisher process, driven phase by phase. A phase publishes at a rate for a while, waits for the
// deliveries to arrive, and measures everything over that window: deliveries expected and received,
// latency, and the CPU of the server (whole process, busiest thread, main thread), of the generator
// processes and of the machine, so that whoever saturated is visible.
import { cpuTimes, machineBusy, machineTicks, memory, threadTimes } from '../proc-stats.js';
import { ChildClient } from '../processes.js';
import type { BenchSettings } from '../settings.js';
import { LatencyHistogram, summarise, type LatencySummary } from './latency-histogram.js';
import type { ConnectReport, Progress, PublisherReport, PublisherRequest, SubscriberReport, SubscriberRequest, Target } from './messages.js';
import type { Payload } from './payloads.js';

export const TOPIC = 'bench';
/** a generator process or server thread busier than this (fraction of one core) counts as saturated */
const SATURATED = 0.9;

export interface PhaseResult {
  rate: number;
  seconds: number;
  subscribers: number;
  /** streams open when publishing began, and at the end */
  openAtStart: number;
  openAtEnd: number;
  published: { target: number; sent: number; accepted: number; rejected: number; unanswered: number; notSent: number; perSecond: number; maxBacklog: number };
  /** accepted × streams open at start */
  expected: number;
  received: number;
  deliveryRatio: number;
  stale: number;
  resets: number;
  orderViolations: number;
  malformed: number;
  deliveriesPerSecond: number;
  /** bytes the subscribers read from their sockets over the window: wire bytes, before any gzip decoding */
  wireBytes: number;
  megabytesPerSecond: number;
  latencyMs: LatencySummary;
  publishResponseMs: LatencySummary;
  server: {
    /** utime + stime of the whole process over the window */
    cpuSeconds: number;
    /** of which in the kernel (stime): sends, and on loopback the receiving side's TCP work too */
    systemCpuSeconds: number;
    /** cores used on average over the window */
    cores: number;
    busiestThreadCore: number;
    /** seconds the server's threads spent runnable but without a CPU (summed over threads) */
    runQueueWaitSeconds: number;
    mainThreadCpuSeconds: number;
    cpuMicrosPerDelivery: number;
    /** main thread (acceptor + sequencer when sharded) per accepted event */
    mainThreadMicrosPerEvent: number;
    peakRssMiB: number;
  };
  generator: {
    processes: number;
    subscriberCpuSeconds: number;
    /** busiest subscriber process: fraction of a core, and event-loop utilisation */
    busiestSubscriberCore: number;
    busiestSubscriberElu: number;
    publisherCpuSeconds: number;
    publisherElu: number;
    cpuMicrosPerDelivery: number;
  };
  /** fraction of the whole machine busy during the window (other tenants included) */
  machineBusy: number;
  wallSeconds: number;
  /** who ran out of CPU: 'generator', 'server', 'machine' or 'none' */
  bottleneck: string;
}

function allCpuTimes(pids: number[]): { user: number; system: number } {
  const t = { user: 0, system: 0 };
  for (const pid of pids) {
    const c = cpuTimes(pid);
    t.user += c.user;
    t.system += c.system;
  }
  return t;
}

/** Thread ids are unique across processes, so the maps merge. */
function allThreadTimes(pids: number[]): ReturnType<typeof threadTimes> {
  return new Map(pids.flatMap((pid) => [...threadTimes(pid)]));
}

function allRss(pids: number[]): number {
  return pids.reduce((sum, pid) => sum + memory(pid).rss, 0);
}

export interface LoadOptions {
  onProgress?: (line: string) => void;
  /** publisher connections, one request in flight each (settings.publisherConnections unless given) */
  publisherConnections?: number;
  /** where the publisher connects: the first target unless given (a proxy in front may serve the subscribers only) */
  publishTo?: Target;
  /** the subscribers send `Accept-Encoding: gzip` and decode gzip-encoded streams */
  acceptGzip?: boolean;
}

export class LoadRun {
  private phaseNo = 0;

  private constructor(
    /** the server processes measured together (cluster mode: several); the first one's main thread is "the main thread" */
    readonly pids: number[],
    private readonly settings: Readonly<BenchSettings>,
    /** the generator processes, for phases other than `phase` (bench/load/storm-run.ts) */
    readonly subscribers: ChildClient<SubscriberRequest>[],
    readonly publisher: ChildClient<PublisherRequest>,
    readonly connect: ConnectReport,
  ) {}

  /** The number of a new phase: the publisher stamps it in every payload, the subscribers count only its events. */
  nextPhase(): number {
    return ++this.phaseNo;
  }

  /**
   * Starts the generator processes and opens `count` subscribers to `target` (the server `pid`).
   * With several targets (cluster mode) subscriber process i connects to target i mod n, the
   * publisher to the first, and the CPU and RSS figures add up every pid.
   */
  static async start(target: Target | Target[], pid: number | number[], count: number, settings: Readonly<BenchSettings>, opts: LoadOptions = {}): Promise<LoadRun> {
    // below 100 subscribers one process is plenty
    const procs = Math.max(count < 100 ? 1 : settings.generatorProcesses, Math.ceil(count / settings.subscribersPerProcess));
    // a larger young generation: the parser makes many short strings
    const flags = ['--max-semi-space-size=32', ...settings.generatorNodeFlags];
    const subscribers = Array.from({ length: procs }, (_, i) => ChildClient.start<SubscriberRequest>(`subscribers#${i}`, './load/subscriber-process.js', flags));
    const publisher = ChildClient.start<PublisherRequest>('publisher', './load/publisher-process.js', settings.generatorNodeFlags);
    const targets = Array.isArray(target) ? target : [target];
    const run = await LoadRun.open(targets, count, settings, subscribers, opts);
    await publisher.request({ type: 'connect', target: opts.publishTo ?? targets[0]!, connections: opts.publisherConnections ?? settings.publisherConnections });
    return new LoadRun(Array.isArray(pid) ? pid : [pid], settings, subscribers, publisher, run);
  }

  private static async open(targets: Target[], count: number, settings: Readonly<BenchSettings>, subscribers: ChildClient<SubscriberRequest>[], opts: LoadOptions): Promise<ConnectReport> {
    const started = performance.now();
    const concurrency = Math.max(1, Math.floor(settings.connectConcurrency / subscribers.length));
    const timeoutMs = 20_000;
    const share = (i: number): number => Math.floor(count / subscribers.length) + (i < count % subscribers.length ? 1 : 0);
    const reports = await Promise.all(subscribers.map((s, i) => s.request<ConnectReport>({ type: 'connect', target: targets[i % targets.length]!, topic: TOPIC, count: share(i), concurrency, timeoutMs, acceptGzip: opts.acceptGzip === true })));
    const total: ConnectReport = { connected: 0, failed: 0, failures: {}, seconds: (performance.now() - started) / 1000 };
    for (const r of reports) {
      total.connected += r.connected;
      total.failed += r.failed;
      for (const [k, v] of Object.entries(r.failures)) total.failures[k] = (total.failures[k] ?? 0) + v;
    }
    opts.onProgress?.(`${total.connected}/${count} subscribers connected in ${total.seconds.toFixed(1)} s${total.failed > 0 ? `, ${total.failed} failed ${JSON.stringify(total.failures)}` : ''}`);
    return total;
  }

  /** Publishes at `rate` for `seconds`, waits for the deliveries, and measures the window. */
  async phase(rate: number, seconds: number, payload: Payload): Promise<PhaseResult> {
    const phase = this.nextPhase();
    await Promise.all(this.subscribers.map((s) => s.request({ type: 'phase-start', phase })));
    const machine0 = machineTicks();
    const threads0 = allThreadTimes(this.pids);
    const cpu0 = allCpuTimes(this.pids);
    const wall0 = performance.now();
    let peakRss = allRss(this.pids);
    const sampler = setInterval(() => {
      try {
        peakRss = Math.max(peakRss, allRss(this.pids));
      } catch {
        // the server died; the phase will show it
      }
    }, 250);

    let pub: PublisherReport;
    try {
      pub = await this.publisher.request<PublisherReport>({ type: 'publish', phase, topic: TOPIC, rate, seconds, payload, responseTimeoutMs: 10_000 });
      await this.waitForDeliveries(pub.accepted);
    } finally {
      clearInterval(sampler);
    }
    const wall = (performance.now() - wall0) / 1000;
    const cpu1 = allCpuTimes(this.pids);
    const systemCpu = cpu1.system - cpu0.system;
    const cpu = cpu1.user - cpu0.user + systemCpu;
    const threads1 = allThreadTimes(this.pids);
    const busy = machineBusy(machine0, machineTicks());
    peakRss = Math.max(peakRss, allRss(this.pids));
    let busiestThread = 0;
    let runQueueWait = 0;
    for (const [tid, end] of threads1) {
      const start = threads0.get(tid) ?? { cpu: 0, wait: 0 };
      busiestThread = Math.max(busiestThread, (end.cpu - start.cpu) / wall);
      runQueueWait += end.wait - start.wait;
    }
    const mainCpu = (threads1.get(this.pids[0]!)?.cpu ?? 0) - (threads0.get(this.pids[0]!)?.cpu ?? 0);

    const reports = await Promise.all(this.subscribers.map((s) => s.request<SubscriberReport>({ type: 'phase-report' })));
    const latency = new LatencyHistogram();
    let openAtStart = 0;
    let openAtEnd = 0;
    let received = 0;
    let stale = 0;
    let resets = 0;
    let orderViolations = 0;
    let malformed = 0;
    let bytes = 0;
    let lastReceiveUs = 0;
    let subscriberCpu = 0;
    let busiestCore = 0;
    let busiestElu = 0;
    for (const r of reports) {
      latency.merge(r.latency);
      openAtStart += r.openAtStart;
      openAtEnd += r.openNow;
      received += r.received;
      stale += r.stale;
      resets += r.resets;
      orderViolations += r.orderViolations;
      malformed += r.malformed;
      bytes += r.bytes;
      lastReceiveUs = Math.max(lastReceiveUs, r.lastReceiveUs);
      subscriberCpu += r.cpuSeconds;
      busiestCore = Math.max(busiestCore, r.cpuSeconds / r.wallSeconds);
      busiestElu = Math.max(busiestElu, r.eventLoopUtilization);
    }
    const expected = pub.accepted * openAtStart;
    // deliveries per second over the time they took: from the first publish to the last delivery
    const span = lastReceiveUs > pub.firstSendUs ? (lastReceiveUs - pub.firstSendUs) / 1e6 : seconds;
    // A generator process on a full core is the bottleneck; one whose loop is always busy while it
    // gets less than a core is waiting for CPU, which says the machine (shared by everyone) is full.
    const machineFull = busy > 0.95;
    const generatorSaturated = busiestCore > SATURATED || (!machineFull && (busiestElu > SATURATED || pub.eventLoopUtilization > SATURATED));
    const bottleneck = generatorSaturated ? 'generator' : busiestThread > SATURATED ? 'server' : machineFull ? 'machine' : 'none';
    return {
      rate,
      seconds,
      subscribers: this.connect.connected,
      openAtStart,
      openAtEnd,
      published: {
        target: pub.target,
        sent: pub.sent,
        accepted: pub.accepted,
        rejected: pub.rejected,
        unanswered: pub.unanswered,
        notSent: pub.notSent,
        perSecond: pub.acceptedPerSecond,
        maxBacklog: pub.maxBacklog,
      },
      expected,
      received,
      deliveryRatio: expected > 0 ? received / expected : 1,
      stale,
      resets,
      orderViolations,
      malformed,
      deliveriesPerSecond: received / span,
      wireBytes: bytes,
      megabytesPerSecond: bytes / 1e6 / span,
      latencyMs: summarise(latency),
      publishResponseMs: summarise(LatencyHistogram.from(pub.responseLatency)),
      server: {
        cpuSeconds: cpu,
        systemCpuSeconds: systemCpu,
        cores: cpu / wall,
        busiestThreadCore: busiestThread,
        runQueueWaitSeconds: runQueueWait,
        mainThreadCpuSeconds: mainCpu,
        cpuMicrosPerDelivery: received > 0 ? (cpu * 1e6) / received : 0,
        mainThreadMicrosPerEvent: pub.accepted > 0 ? (mainCpu * 1e6) / pub.accepted : 0,
        peakRssMiB: peakRss / 2 ** 20,
      },
      generator: {
        processes: this.subscribers.length + 1,
        subscriberCpuSeconds: subscriberCpu,
        busiestSubscriberCore: busiestCore,
        busiestSubscriberElu: busiestElu,
        publisherCpuSeconds: pub.cpuSeconds,
        publisherElu: pub.eventLoopUtilization,
        cpuMicrosPerDelivery: received > 0 ? ((subscriberCpu + pub.cpuSeconds) * 1e6) / received : 0,
      },
      machineBusy: busy,
      wallSeconds: wall,
      bottleneck,
    };
  }

  /** Until every stream has every accepted event, progress stalls for 1.5 s, or drainSeconds pass. */
  async waitForDeliveries(accepted: number): Promise<void> {
    const deadline = performance.now() + this.settings.drainSeconds * 1000;
    let last = -1;
    let lastChange = performance.now();
    for (;;) {
      const progress = await Promise.all(this.subscribers.map((s) => s.request<Progress>({ type: 'progress' })));
      const received = progress.reduce((a, p) => a + p.received, 0);
      const open = progress.reduce((a, p) => a + p.open, 0);
      const now = performance.now();
      if (received >= accepted * open || now > deadline) return;
      if (received !== last) {
        last = received;
        lastChange = now;
      } else if (now - lastChange > 1_500) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Closes the subscribers (RST) and ends the generator processes. */
  async stop(): Promise<void> {
    await Promise.all(this.subscribers.map((s) => s.request({ type: 'disconnect' }).catch(() => undefined)));
    await Promise.all([...this.subscribers, this.publisher].map((c) => c.stop()));
  }
}

/** One progress line for a phase. */
export function describePhase(r: PhaseResult): string {
  const pct = (r.deliveryRatio * 100).toFixed(r.deliveryRatio === 1 ? 0 : 2);
  return [
    `${r.published.accepted}/${r.published.target} published (${Math.round(r.published.perSecond)}/s)`,
    `${r.received}/${r.expected} deliveries (${pct}%)`,
    `${Math.round(r.deliveriesPerSecond).toLocaleString('en-US')}/s`,
    `p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms max ${r.latencyMs.max} ms`,
    `server ${r.server.cpuSeconds.toFixed(2)} CPU s (${r.server.cpuMicrosPerDelivery.toFixed(3)} µs/delivery, busiest thread ${Math.round(r.server.busiestThreadCore * 100)}%)`,
    `generator ${(r.generator.subscriberCpuSeconds + r.generator.publisherCpuSeconds).toFixed(2)} CPU s (busiest subscriber process ${Math.round(r.generator.busiestSubscriberCore * 100)}% CPU, loop ${Math.round(r.generator.busiestSubscriberElu * 100)}% busy)`,
    `machine ${Math.round(r.machineBusy * 100)}% busy`,
    ...(r.orderViolations > 0 ? [`${r.orderViolations} ORDER VIOLATIONS`] : []),
    ...(r.openAtEnd < r.openAtStart ? [`${r.openAtStart - r.openAtEnd} streams closed by the server`] : []),
  ].join(', ');
}
