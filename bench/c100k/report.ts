// results/c100k-<timestamp>.md (and c100k-latest.md): one column per scale, the machine, the load
// average while it ran, and the targets (all connected within 30 s, p99 to the last subscriber
// below 2 s at 1 event/s, at most 2 KiB of server RSS per connection, nothing missed after a kill).
import type { MachineInfo } from '../proc-stats.js';
import type { PhaseFigures, ScaleResult } from './scale-run.js';
import type { C100kSettings } from './settings.js';

export interface C100kResults {
  startedAt: string;
  machine: MachineInfo;
  settings: C100kSettings;
  /** 1-minute load average (min, max) sampled while each scale ran */
  loadAverage: Array<{ min: number; max: number }>;
  scales: ScaleResult[];
}

const n = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

const share = (part: number, whole: number): string => (whole > 0 ? `${Math.round((part / whole) * 100)}%` : '-');

function row(label: string, scales: ScaleResult[], cell: (s: ScaleResult) => string): string {
  return `| ${label} | ${scales.map(cell).join(' | ')} |`;
}

function phaseRows(scales: ScaleResult[], index: number): string[] {
  const name = scales[0]!.phases[index]!.name;
  const p = (s: ScaleResult): PhaseFigures => s.phases[index]!;
  return [
    row(`**${name}**: delivered (order violations)`, scales, (s) => `${p(s).deliveredPct.toFixed(3)}% of ${n(p(s).expected)} (${p(s).orderViolations})`),
    row(`${name}: latency p50 / p99 (ms)`, scales, (s) => `${n(p(s).latencyMs.p50, 1)} / ${n(p(s).latencyMs.p99, 1)}`),
    row(`${name}: publish to the last subscriber, p99 over events (ms)`, scales, (s) => n(p(s).lastSubscriberMs.p99, 1)),
    row(`${name}: server CPU per delivery / per event read (µs)`, scales, (s) => `${p(s).serverCpuUsPerDelivery.toFixed(2)} / ${p(s).serverCpuUsPerEventRead.toFixed(2)}`),
    row(`${name}: CPU s servers / generators / redis (machine busy)`, scales, (s) => `${p(s).serverCpuSeconds.toFixed(2)} / ${p(s).generatorCpuSeconds.toFixed(2)} / ${p(s).redisCpuSeconds.toFixed(2)} (${Math.round(p(s).machineBusy * 100)}%)`),
    row(`${name}: of that in the kernel, servers / generators`, scales, (s) => `${share(p(s).serverKernelSeconds, p(s).serverCpuSeconds)} / ${share(p(s).generatorKernelSeconds, p(s).generatorCpuSeconds)}`),
  ];
}

export function renderC100k(r: C100kResults): string {
  const { machine: m, settings: st, scales } = r;
  const sc = scales;
  const verdict = (ok: boolean): string => (ok ? 'MET' : 'MISSED');
  const big = sc[sc.length - 1]!;
  const oneSec = big.phases[0]!;
  const lines = [
    `# make bench-c100k (${st.mode}), ${r.startedAt}`,
    '',
    `Machine: ${m.cores} cores, ${m.cpuModel}, Node ${m.nodeVersion}, Linux ${m.kernel}, ${m.memoryGiB} GiB, open files ${m.openFilesLimit}. 1-minute load average while each scale ran: ${r.loadAverage.map((l, i) => `${n(sc[i]?.subscribers ?? 0)}: ${l.min.toFixed(1)}–${l.max.toFixed(1)}`).join('; ')} (other sessions share the machine).`,
    '',
    `Every server process listens on the same port (SO_REUSEPORT, the kernel spreads connections), cluster mode on a local redis-server, SHARDS=1, MAX_CONNECTIONS=${n(st.serverMaxConnections)}, HEARTBEAT_MS=${n(st.heartbeatMs)}. Each generator process connects from its own loopback address; each subscriber is on the broadcast topic and on one of ${n(st.topics)} topics. Connection starts spread over ${st.rampSeconds} s. Server CPU adds up every server process; "per event read" divides by the generator's socket reads that carried events (a read can merge writes, so this is at least the CPU per write).`,
    '',
    `| figure | ${sc.map((s) => `${n(s.subscribers)} subscribers`).join(' | ')} |`,
    `| --- | ${sc.map(() => '---:').join(' | ')} |`,
    row('server processes / generator processes', sc, (s) => `${s.servers} / ${s.generators}`),
    row('**connected** (failed) in s', sc, (s) => `${n(s.connect.connected)} (${n(s.connect.failed)}) in ${s.connect.seconds.toFixed(1)}`),
    row('connections per server process', sc, (s) => s.connect.perServer.map((p) => n(p.connections)).join(' / ')),
    row('accepts/s per server process (mean)', sc, (s) => n(s.connect.perServer.reduce((a, p) => a + p.acceptsPerSecond, 0) / s.connect.perServer.length)),
    row('connect to response head p50 / p99 (ms)', sc, (s) => `${n(s.connect.handshakeMs.p50, 1)} / ${n(s.connect.handshakeMs.p99, 1)}`),
    row('connect phase CPU s: servers / generators', sc, (s) => `${s.connect.serverCpuSeconds.toFixed(1)} / ${s.connect.generatorCpuSeconds.toFixed(1)}`),
    row('**server RSS per connection (KiB)**: after the connect wave / after the idle window', sc, (s) => `${s.memory.kibPerConnection.toFixed(2)} / ${s.memory.kibPerConnectionSettled.toFixed(2)}`),
    row('server RSS before → holding → after the idle window (MiB, per process)', sc, (s) => s.memory.perServer.map((p) => `${p.rssBeforeMiB.toFixed(0)}→${p.rssHoldingMiB.toFixed(0)}→${p.rssSettledMiB.toFixed(0)}`).join(', ')),
    row('kernel TCP memory before → holding (MiB; sockets in use)', sc, (s) => `${s.memory.tcpMemBeforeMiB.toFixed(1)} → ${s.memory.tcpMemHoldingMiB.toFixed(1)} (${n(s.memory.tcpSocketsBefore)} → ${n(s.memory.tcpSocketsHolding)})`),
    row('kernel TCP memory per connection, both ends (KiB)', sc, (s) => s.memory.tcpKibPerConnection.toFixed(2)),
    row('idle server CPU, empty → holding (ms CPU per s, all processes)', sc, (s) => `${(s.idle.serverCpuPerSecondEmpty * 1000).toFixed(1)} → ${(s.idle.serverCpuPerSecondHolding * 1000).toFixed(1)}`),
    row('idle cost of heartbeats and presence (µs CPU per s per connection)', sc, (s) => (((s.idle.serverCpuPerSecondHolding - s.idle.serverCpuPerSecondEmpty) * 1e6) / Math.max(1, s.connect.connected)).toFixed(3)),
    row('idle redis CPU (ms per s)', sc, (s) => (s.idle.redisCpuPerSecondHolding * 1000).toFixed(1)),
    ...sc[0]!.phases.flatMap((_, i) => phaseRows(sc, i)),
    row('**kill**: SIGKILLed server held', sc, (s) => n(s.kill.victimConnections)),
    row('kill: reconnected (with Last-Event-ID)', sc, (s) => `${n(s.kill.reconnected)} (${n(s.kill.withLastEventId)})`),
    row('kill: all back after (ms); open after', sc, (s) => `${n(s.kill.allBackMs)}; ${n(s.kill.openAfter)}`),
    row('**kill: missing deliveries (subscribers) / duplicates**', sc, (s) => `${n(s.kill.missing)} (${n(s.kill.subscribersMissing)}) / ${n(s.kill.duplicates)}`),
    row('kill: delivered, order violations, p99 (ms)', sc, (s) => `${s.kill.phase.deliveredPct.toFixed(3)}%, ${s.kill.phase.orderViolations}, ${n(s.kill.phase.latencyMs.p99, 1)}`),
    '',
    `## Targets at ${n(big.subscribers)}`,
    '',
    `- ${verdict(big.connect.connected === big.subscribers && big.connect.seconds <= 30)}: all ${n(big.subscribers)} connected within 30 s (${n(big.connect.connected)} in ${big.connect.seconds.toFixed(1)} s)`,
    `- ${verdict(oneSec.deliveredPct >= 100 && oneSec.lastSubscriberMs.p99 < 2_000)}: 1 event/s, all delivered, p99 publish to the last subscriber < 2 s (${n(oneSec.lastSubscriberMs.p99, 1)} ms)`,
    `- ${verdict(Math.max(big.memory.kibPerConnection, big.memory.kibPerConnectionSettled) <= 2)}: server RSS ≤ 2 KiB per connection, after the connect wave and after the idle window (${big.memory.kibPerConnection.toFixed(2)} / ${big.memory.kibPerConnectionSettled.toFixed(2)} KiB)`,
    `- ${verdict(big.kill.missing === 0 && big.kill.duplicates === 0 && big.kill.openAfter >= big.connect.connected)}: a killed server's subscribers all back with Last-Event-ID, nothing missed (${n(big.kill.missing)} missing, ${n(big.kill.duplicates)} duplicates)`,
    '',
  ];
  return lines.join('\n');
}
