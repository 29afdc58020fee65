// Long because the phases share one set of connections: connecting, broadcast, many topics, idle
// cost and the kill are measured one after the other on the same 100,000 subscribers.
// One scale of `make bench-c100k`: N subscribers over the server processes the open-files limit
// forces, every phase measured on the same connections (each subscriber is on the broadcast topic
// and on one of `topics` topics).
import { LatencyHistogram, summarise, type LatencySummary } from '../load/latency-histogram.js';
import { nowUs } from '../load/messages.js';
import { machineBusy, machineTicks, type CpuTimes } from '../proc-stats.js';
import { Cluster, cpuOr, HOST, openFiles, rssOf, tcpSockstat, timesOr } from './cluster.js';
import type { GeneratorConnectReport, GeneratorPhaseReport, GeneratorProgress } from './protocol.js';
import { Publisher, type PublishPlan } from './publisher.js';
import { generatorsFor, serversFor, type C100kSettings } from './settings.js';

export const BROADCAST = 'all';

export interface PhaseFigures {
  name: string;
  rate: number;
  accepted: number;
  notAccepted: number;
  expected: number;
  received: number;
  deliveredPct: number;
  orderViolations: number;
  resets: number;
  latencyMs: LatencySummary;
  /** per event, publish to its last subscriber: percentiles over events */
  lastSubscriberMs: LatencySummary;
  serverCpuSeconds: number;
  /** of serverCpuSeconds and generatorCpuSeconds, in the kernel (system time): sends, receives, wake-ups */
  serverKernelSeconds: number;
  generatorKernelSeconds: number;
  serverCpuUsPerDelivery: number;
  /** per generator read that carried events: at most one per server write, so at least the CPU per write */
  serverCpuUsPerEventRead: number;
  generatorCpuSeconds: number;
  redisCpuSeconds: number;
  machineBusy: number;
  wallSeconds: number;
}

export interface ScaleResult {
  subscribers: number;
  servers: number;
  generators: number;
  port: number;
  connect: {
    connected: number;
    failed: number;
    failures: Record<string, number>;
    seconds: number;
    handshakeMs: LatencySummary;
    perServer: Array<{ pid: number; connections: number; acceptsPerSecond: number }>;
    serverCpuSeconds: number;
    generatorCpuSeconds: number;
  };
  memory: {
    perServer: Array<{ pid: number; rssBeforeMiB: number; rssHoldingMiB: number; rssSettledMiB: number; connections: number; kibPerConnection: number }>;
    /** right after the connect wave (2 s settle), and after the idle window that follows (V8's memory reducer has run) */
    kibPerConnection: number;
    kibPerConnectionSettled: number;
    tcpSocketsBefore: number;
    tcpSocketsHolding: number;
    tcpMemBeforeMiB: number;
    tcpMemHoldingMiB: number;
    /** kernel TCP memory per connection (both of its loopback sockets) */
    tcpKibPerConnection: number;
  };
  idle: { seconds: number; heartbeatMs: number; serverCpuPerSecondEmpty: number; serverCpuPerSecondHolding: number; redisCpuPerSecondHolding: number };
  phases: PhaseFigures[];
  kill: {
    victimPid: number;
    victimConnections: number;
    reconnected: number;
    withLastEventId: number;
    allBackMs: number;
    openAfter: number;
    due: number;
    missing: number;
    subscribersMissing: number;
    duplicates: number;
    phase: PhaseFigures;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

export class ScaleRun {
  private readonly cluster = new Cluster();
  private phaseNo = 0;
  private publisher: Publisher | undefined;
  private connected = 0;
  /** descriptors of each server before any subscriber: what it holds beyond is its connections */
  private fdsBefore: number[] = [];

  constructor(
    private readonly n: number,
    private readonly s: Readonly<C100kSettings>,
    private readonly log: (l: string) => void,
  ) {}

  private get pids(): number[] {
    return this.cluster.servers.map((x) => x.pid);
  }

  private serverCpu(last: number[] = []): number[] {
    return this.pids.map((pid, i) => cpuOr(pid, last[i] ?? 0));
  }

  private serverTimes(last: CpuTimes[] = []): CpuTimes[] {
    return this.pids.map((pid, i) => timesOr(pid, last[i] ?? { user: 0, system: 0 }));
  }

  private all<T>(message: Parameters<Cluster['generators'][number]['request']>[0]): Promise<T[]> {
    return Promise.all(this.cluster.generators.map((g) => g.request<T>(message)));
  }

  async run(): Promise<ScaleResult> {
    try {
      return await this.measure();
    } finally {
      this.publisher?.close();
      await this.cluster.stop();
    }
  }

  private async measure(): Promise<ScaleResult> {
    const { n, s } = this;
    const servers = serversFor(n, s);
    const generators = generatorsFor(n, s);
    await this.cluster.start(servers, generators, s, this.log);
    await sleep(s.settleMs); // start-up allocations settle
    const idleEmpty = await this.idleCpu();
    const rssBefore = this.pids.map(rssOf);
    const fdsBefore = (this.fdsBefore = this.pids.map(openFiles));
    const sock0 = tcpSockstat();

    const connect = await this.connect(fdsBefore);
    this.connected = connect.connected;
    await sleep(s.settleMs);
    const sock1 = tcpSockstat();
    const memPerServer = this.pids.map((pid, i) => {
      const held = openFiles(pid) - fdsBefore[i]!;
      const after = rssOf(pid);
      return { pid, rssBeforeMiB: rssBefore[i]! / MiB, rssHoldingMiB: after / MiB, rssSettledMiB: 0, connections: held, kibPerConnection: held > 0 ? (after - rssBefore[i]!) / held / 1024 : 0 };
    });
    const growth = (at: (m: (typeof memPerServer)[number]) => number): number => memPerServer.reduce((a, m) => a + (at(m) - m.rssBeforeMiB) * MiB, 0);
    const idleHolding = await this.idleCpu();
    this.pids.forEach((pid, i) => (memPerServer[i]!.rssSettledMiB = rssOf(pid) / MiB));
    this.log(`idle: servers ${(idleEmpty.server * 1000).toFixed(1)} ms CPU/s empty, ${(idleHolding.server * 1000).toFixed(1)} ms CPU/s holding ${connect.connected} (heartbeat every ${s.heartbeatMs} ms)`);

    this.publisher = await Publisher.open(HOST, this.cluster.port, 4);
    const phases: PhaseFigures[] = [];
    const broadcast = (): string => BROADCAST;
    phases.push((await this.phase('broadcast 1/s', { rate: 1, seconds: Math.max(s.seconds, 3), topicOf: broadcast }, false)).figures);
    phases.push((await this.phase('broadcast 10/s', { rate: 10, seconds: s.seconds, topicOf: broadcast }, false)).figures);
    const spread = (seq: number): string => `t${(seq * 7_919) % s.topics}`;
    phases.push((await this.phase(`${s.topics.toLocaleString('en-US')} topics, ${s.topicRate.toLocaleString('en-US')}/s`, { rate: s.topicRate, seconds: s.seconds, topicOf: spread }, false)).figures);
    const kill = await this.killPhase();

    return {
      subscribers: n,
      servers,
      generators,
      port: this.cluster.port,
      connect,
      memory: {
        perServer: memPerServer,
        kibPerConnection: connect.connected > 0 ? growth((m) => m.rssHoldingMiB) / connect.connected / 1024 : 0,
        kibPerConnectionSettled: connect.connected > 0 ? growth((m) => m.rssSettledMiB) / connect.connected / 1024 : 0,
        tcpSocketsBefore: sock0.inUse,
        tcpSocketsHolding: sock1.inUse,
        tcpMemBeforeMiB: sock0.memBytes / MiB,
        tcpMemHoldingMiB: sock1.memBytes / MiB,
        tcpKibPerConnection: connect.connected > 0 ? (sock1.memBytes - sock0.memBytes) / connect.connected / 1024 : 0,
      },
      idle: { seconds: s.idleSeconds, heartbeatMs: s.heartbeatMs, serverCpuPerSecondEmpty: idleEmpty.server, serverCpuPerSecondHolding: idleHolding.server, redisCpuPerSecondHolding: idleHolding.redis },
      phases,
      kill,
    };
  }

  /** Server and redis CPU seconds per second over an idle window. */
  private async idleCpu(): Promise<{ server: number; redis: number }> {
    const c0 = this.serverCpu();
    const r0 = cpuOr(this.cluster.redisPid, 0);
    const t0 = performance.now();
    await sleep(this.s.idleSeconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    return { server: (sum(this.serverCpu(c0)) - sum(c0)) / wall, redis: (cpuOr(this.cluster.redisPid, r0) - r0) / wall };
  }

  private async connect(fdsBefore: number[]): Promise<ScaleResult['connect']> {
    const { n, s } = this;
    const gens = this.cluster.generators;
    const cpu0 = this.serverCpu();
    const t0 = performance.now();
    const share = (i: number): number => Math.floor(n / gens.length) + (i < n % gens.length ? 1 : 0);
    let first = 0;
    const reports = await Promise.all(
      gens.map((g, i) => {
        const count = share(i);
        const r = g.request<GeneratorConnectReport>({ type: 'connect', host: HOST, port: this.cluster.port, localAddress: `127.0.0.${2 + i}`, first, count, broadcast: BROADCAST, topics: s.topics, rampMs: s.rampSeconds * 1000, concurrency: s.connectConcurrency, timeoutMs: s.connectTimeoutMs, reconnectSpreadMs: s.reconnectSpreadMs });
        first += count;
        return r;
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = this.serverCpu(cpu0);
    const handshake = new LatencyHistogram();
    const total = { connected: 0, failed: 0, failures: {} as Record<string, number>, generatorCpu: 0, firstUs: Infinity, lastUs: 0 };
    for (const r of reports) {
      handshake.merge(r.handshake);
      total.connected += r.connected;
      total.failed += r.failed;
      total.generatorCpu += r.cpuSeconds;
      total.firstUs = Math.min(total.firstUs, r.firstStartUs);
      total.lastUs = Math.max(total.lastUs, r.lastHeadUs);
      for (const [k, v] of Object.entries(r.failures)) total.failures[k] = (total.failures[k] ?? 0) + v;
    }
    const window = total.lastUs > total.firstUs ? (total.lastUs - total.firstUs) / 1e6 : seconds;
    const perServer = this.pids.map((pid, i) => {
      const connections = openFiles(pid) - fdsBefore[i]!;
      return { pid, connections, acceptsPerSecond: connections / window };
    });
    this.log(`connect: ${total.connected}/${n} in ${window.toFixed(1)} s${total.failed > 0 ? `, ${total.failed} failed ${JSON.stringify(total.failures)}` : ''}; per server ${perServer.map((p) => p.connections).join(' / ')}; handshake p50 ${summarise(handshake).p50} ms p99 ${summarise(handshake).p99} ms`);
    return {
      connected: total.connected,
      failed: total.failed,
      failures: total.failures,
      seconds: window,
      handshakeMs: summarise(handshake),
      perServer,
      serverCpuSeconds: cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0),
      generatorCpuSeconds: total.generatorCpu,
    };
  }

  /** Subscribers of topic t<k>: indices i < n with i mod topics = k. */
  private subscribersOf(topic: string): number {
    if (topic === BROADCAST) return this.connected;
    const k = Number(topic.slice(1));
    return Math.floor(this.n / this.s.topics) + (k < this.n % this.s.topics ? 1 : 0);
  }

  /** Publishes, waits for the deliveries (or a stall), and measures the window. */
  private async phase(name: string, shape: { rate: number; seconds: number; topicOf: (seq: number) => string }, track: boolean, onTick?: PublishPlan['onTick']): Promise<{ figures: PhaseFigures; reports: GeneratorPhaseReport[]; accepted: number[] }> {
    const phase = ++this.phaseNo;
    await this.all({ type: 'phase-start', phase, track });
    const times0 = this.serverTimes();
    const redis0 = cpuOr(this.cluster.redisPid, 0);
    const machine0 = machineTicks();
    const t0 = performance.now();
    const pub = await this.publisher!.run({ phase, rate: shape.rate, seconds: shape.seconds, topicOf: shape.topicOf, payloadBytes: this.s.payloadBytes, answerTimeoutMs: 10_000, ...(onTick ? { onTick } : {}) });
    const expected = pub.accepted.reduce((a, seq) => a + this.subscribersOf(shape.topicOf(seq)), 0);
    await this.waitFor((p) => p.reduce((a, x) => a + x.received, 0) >= expected);
    const wall = (performance.now() - t0) / 1000;
    const times1 = this.serverTimes(times0);
    const spent = (part: (t: CpuTimes) => number): number => times1.reduce((a, t, i) => a + part(t) - part(times0[i]!), 0);
    const serverCpu = spent((t) => t.user + t.system);
    const serverKernel = spent((t) => t.system);
    const busy = machineBusy(machine0, machineTicks());
    const redisCpu = cpuOr(this.cluster.redisPid, redis0) - redis0;
    const reports = await this.all<GeneratorPhaseReport>({ type: 'phase-report', due: track ? pub.accepted : [] });
    const latency = new LatencyHistogram();
    const last = new LatencyHistogram();
    const lastByEvent: number[] = [];
    let received = 0;
    let eventReads = 0;
    let order = 0;
    let resets = 0;
    let generatorCpu = 0;
    let generatorKernel = 0;
    for (const r of reports) {
      latency.merge(r.latency);
      received += r.received;
      eventReads += r.eventReads;
      order += r.orderViolations;
      resets += r.resets;
      generatorCpu += r.cpuSeconds;
      generatorKernel += r.kernelSeconds;
      r.lastByEvent.forEach((us, seq) => (lastByEvent[seq] = Math.max(lastByEvent[seq] ?? 0, us)));
    }
    for (const seq of pub.accepted) if ((lastByEvent[seq] ?? 0) > 0) last.record(lastByEvent[seq]!);
    const figures: PhaseFigures = {
      name,
      rate: shape.rate,
      accepted: pub.accepted.length,
      notAccepted: pub.target - pub.accepted.length,
      expected,
      received,
      deliveredPct: expected > 0 ? (received / expected) * 100 : 100,
      orderViolations: order,
      resets,
      latencyMs: summarise(latency),
      lastSubscriberMs: summarise(last),
      serverCpuSeconds: serverCpu,
      serverKernelSeconds: serverKernel,
      generatorKernelSeconds: generatorKernel,
      serverCpuUsPerDelivery: received > 0 ? (serverCpu * 1e6) / received : 0,
      serverCpuUsPerEventRead: eventReads > 0 ? (serverCpu * 1e6) / eventReads : 0,
      generatorCpuSeconds: generatorCpu,
      redisCpuSeconds: redisCpu,
      machineBusy: busy,
      wallSeconds: wall,
    };
    this.log(`${name}: ${received}/${expected} delivered (${figures.deliveredPct.toFixed(2)}%), p50 ${figures.latencyMs.p50} ms p99 ${figures.latencyMs.p99} ms, to the last subscriber p99 ${figures.lastSubscriberMs.p99} ms; server ${serverCpu.toFixed(2)} CPU s (${figures.serverCpuUsPerDelivery.toFixed(2)} µs/delivery), generators ${generatorCpu.toFixed(2)} CPU s (kernel: servers ${serverKernel.toFixed(2)}, generators ${generatorKernel.toFixed(2)}), machine ${Math.round(busy * 100)}% busy${order > 0 ? `, ${order} ORDER VIOLATIONS` : ''}`);
    return { figures, reports, accepted: pub.accepted };
  }

  /** Polls the generators until `done`, progress stalls for 3 s, or drainSeconds pass. */
  private async waitFor(done: (p: GeneratorProgress[]) => boolean): Promise<GeneratorProgress[]> {
    const deadline = performance.now() + this.s.drainSeconds * 1000;
    let last = '';
    let lastChange = performance.now();
    for (;;) {
      const p = await this.all<GeneratorProgress>({ type: 'progress' });
      const now = performance.now();
      if (done(p) || now > deadline) return p;
      const key = JSON.stringify(p);
      if (key !== last) {
        last = key;
        lastChange = now;
      } else if (now - lastChange > 3_000) return p;
      await sleep(100);
    }
  }

  /** 10 events/s on the broadcast topic, tracked per subscriber; one server SIGKILLed on the way. */
  private async killPhase(): Promise<ScaleResult['kill']> {
    const victim = this.cluster.servers[this.cluster.servers.length - 1]!;
    const victimConnections = openFiles(victim.pid) - this.fdsBefore[this.fdsBefore.length - 1]!;
    let killUs = 0;
    const before = await this.all<GeneratorProgress>({ type: 'progress' });
    const reconnectsBefore = before.reduce((a, p) => a + p.reconnected, 0);
    const phase = await this.phase(
      'kill one server, 10/s',
      { rate: 10, seconds: this.s.killSeconds, topicOf: () => BROADCAST },
      true,
      (elapsed) => {
        if (killUs === 0 && elapsed >= this.s.killAtSeconds) {
          killUs = nowUs();
          process.kill(victim.pid, 'SIGKILL');
          this.log(`kill: SIGKILL to server ${victim.pid} (~${victimConnections} subscribers)`);
        }
      },
    );
    const back = await this.waitFor((p) => p.reduce((a, x) => a + x.open, 0) >= this.connected);
    const lastBackUs = Math.max(...back.map((p) => p.lastBackUs));
    const sum = (f: (r: GeneratorPhaseReport) => number): number => phase.reports.reduce((a, r) => a + f(r), 0);
    const result = {
      victimPid: victim.pid,
      victimConnections,
      reconnected: back.reduce((a, p) => a + p.reconnected, 0) - reconnectsBefore,
      withLastEventId: sum((r) => r.withLastEventId),
      allBackMs: killUs > 0 && lastBackUs > killUs ? (lastBackUs - killUs) / 1000 : 0,
      openAfter: back.reduce((a, p) => a + p.open, 0),
      due: phase.accepted.length,
      missing: sum((r) => r.missing),
      subscribersMissing: sum((r) => r.subscribersMissing),
      duplicates: sum((r) => r.duplicates),
      phase: phase.figures,
    };
    this.log(`kill: ${result.reconnected} reconnected (${result.withLastEventId} with Last-Event-ID), all back ${result.allBackMs.toFixed(0)} ms after the kill, ${result.openAfter}/${this.connected} open; missing ${result.missing} (${result.subscribersMissing} subscribers), duplicates ${result.duplicates}`);
    return result;
  }

}
