// The "Compression" section of results/latest.md and its four targets: per variant and rate, wire
// bytes and server CPU per delivery with their ratios to identity, latency, delivery, and the RSS
// per idle connection of the two uWS variants. Medians over the rounds; ratios are within this run.
import type { PhaseResult } from '../load/load-run.js';
import type { MachineInfo } from '../proc-stats.js';
import type { RunRecord } from '../scenarios/context.js';
import type { IdleMeasure } from '../scenarios/idle-memory.js';
import { COMPRESSION_LABELS } from '../scenarios/compression.js';
import type { BenchSettings, CompressionVariant } from '../settings.js';
import { median, type TargetCheck } from './summarise.js';

type Load = RunRecord & PhaseResult & { variant: CompressionVariant; wireBytesPerDelivery: number; segmentMs?: number };
type Idle = RunRecord & IdleMeasure & { variant: CompressionVariant };

const BYTES_FACTOR = 4;
const CPU_LIMIT = 1.2;
const P99_LIMIT = 1.1;
const RSS_LIMIT_KIB = 0.5;

/** One variant at one rate: medians over its rounds. */
interface Row {
  variant: CompressionVariant;
  rate: number;
  rounds: number;
  published: number;
  wire: number;
  cpu: number;
  p50: number;
  p99: number;
  delivered: number;
  generatorBusiest: number;
  /** the generator's CPU (subscriber processes and publisher) per delivery: decoding included */
  generatorCpu: number;
  /** the uWS server's time writing one fan-out segment (NaN for node:http) */
  segmentMs: number;
}

function rowsOf(runs: RunRecord[]): Row[] {
  const mine = runs.filter((r) => r.scenario === 'compression' && r['measure'] === 'load') as Load[];
  const rows: Row[] = [];
  for (const variant of new Set(mine.map((r) => r.variant))) {
    for (const rate of new Set(mine.map((r) => r.rate))) {
      const rs = mine.filter((r) => r.variant === variant && r.rate === rate);
      if (rs.length === 0) continue;
      const m = (get: (r: Load) => number): number => median(rs.map(get));
      rows.push({
        variant,
        rate,
        rounds: rs.length,
        published: m((r) => r.published.perSecond),
        wire: m((r) => r.wireBytesPerDelivery),
        cpu: m((r) => r.server.cpuMicrosPerDelivery),
        p50: m((r) => r.latencyMs.p50),
        p99: m((r) => r.latencyMs.p99),
        delivered: m((r) => r.deliveryRatio * 100),
        generatorBusiest: m((r) => r.generator.busiestSubscriberCore * 100),
        generatorCpu: m((r) => r.generator.cpuMicrosPerDelivery),
        segmentMs: m((r) => r.segmentMs ?? NaN),
      });
    }
  }
  return rows;
}

/** RSS per idle connection, median over rounds, per uWS variant. */
function idleRss(runs: RunRecord[], variant: CompressionVariant): { kib: number; connections: number } | undefined {
  const rs = runs.filter((r) => r.scenario === 'compression' && r['measure'] === 'idle' && r.variant === variant) as Idle[];
  return rs.length === 0 ? undefined : { kib: median(rs.map((r) => r.rssPerConnectionKiB)), connections: median(rs.map((r) => r.connections)) };
}

const at = (rows: Row[], variant: CompressionVariant, rate: number): Row | undefined => rows.find((r) => r.variant === variant && r.rate === rate);
const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export function checkCompressionTargets(runs: RunRecord[], settings: Readonly<BenchSettings>): TargetCheck[] {
  const rs = rowsOf(runs);
  const rates = settings.compression.rates.filter((rate) => at(rs, 'identity', rate) && at(rs, 'gzip', rate));
  const notMeasured = (target: string): TargetCheck => ({ target, met: undefined, detail: 'not measured in this run (needs the identity and gzip variants of the compression scenario)' });
  const pair = (rate: number): [Row, Row] => [at(rs, 'identity', rate)!, at(rs, 'gzip', rate)!];
  const checks: TargetCheck[] = [];

  const bytesTarget = `Compression: gzip sends ≥ ${BYTES_FACTOR}× fewer wire bytes per delivery than identity, at every rate`;
  if (rates.length === 0) checks.push(notMeasured(bytesTarget));
  else {
    const parts = rates.map((rate) => {
      const [id, gz] = pair(rate);
      const factor = id.wire / gz.wire;
      return { ok: factor >= BYTES_FACTOR, text: `${rate}/s: ${f(id.wire, 1)} B vs ${f(gz.wire, 1)} B = ${f(factor)}× fewer` };
    });
    checks.push({ target: bytesTarget, met: parts.every((p) => p.ok), detail: parts.map((p) => p.text).join('; ') });
  }

  const top = Math.max(...settings.compression.rates);
  const cpuTarget = `Compression: gzip server CPU per delivery ≤ ${CPU_LIMIT}× identity at ${n(settings.compression.subscribers)} subscribers × ${n(top)} events/s`;
  if (!rates.includes(top)) checks.push(notMeasured(cpuTarget));
  else {
    const [id, gz] = pair(top);
    const ratio = gz.cpu / id.cpu;
    const perConnection = (['baseline-gzip', 'nginx-gzip'] as const)
      .map((v) => at(rs, v, top))
      .filter((r) => r !== undefined)
      .map((r) => `${COMPRESSION_LABELS[r.variant]}: ${f(r.cpu, 3)} µs = ${f(r.cpu / gz.cpu)}× encode-once`);
    checks.push({
      target: cpuTarget,
      met: ratio <= CPU_LIMIT,
      detail: `${f(id.cpu, 3)} µs vs ${f(gz.cpu, 3)} µs = ${f(ratio)}× (limit ${CPU_LIMIT}×)${perConnection.length > 0 ? `; per-connection compression: ${perConnection.join('; ')}` : ''}`,
    });
  }

  const p99Target = `Compression: gzip latency p99 within ${Math.round((P99_LIMIT - 1) * 100)}% of identity, at every rate`;
  if (rates.length === 0) checks.push(notMeasured(p99Target));
  else {
    const parts = rates.map((rate) => {
      const [id, gz] = pair(rate);
      const ratio = gz.p99 / id.p99;
      return {
        ok: ratio <= P99_LIMIT,
        text: `${rate}/s: ${f(id.p99)} ms vs ${f(gz.p99)} ms = ${f(ratio)}× (the server's time per fan-out segment ${f(id.segmentMs)} vs ${f(gz.segmentMs)} ms = ${f(gz.segmentMs / id.segmentMs)}×; the generator's CPU per delivery ${f(id.generatorCpu)} vs ${f(gz.generatorCpu)} µs)`,
      };
    });
    checks.push({ target: p99Target, met: parts.every((p) => p.ok), detail: parts.map((p) => p.text).join('; ') });
  }

  const rssTarget = `Compression: RSS per idle gzip connection ≤ ${RSS_LIMIT_KIB} KiB above identity`;
  const idId = idleRss(runs, 'identity');
  const idGz = idleRss(runs, 'gzip');
  if (idId === undefined || idGz === undefined) checks.push(notMeasured(rssTarget));
  else {
    const above = idGz.kib - idId.kib;
    checks.push({ target: rssTarget, met: above <= RSS_LIMIT_KIB, detail: `${f(idId.kib)} KiB vs ${f(idGz.kib)} KiB = ${f(above)} KiB above, over ${n(idGz.connections)} idle connections` });
  }
  return checks;
}

export function renderCompression(runs: RunRecord[], settings: Readonly<BenchSettings>, m: MachineInfo): string[] {
  const rs = rowsOf(runs);
  if (rs.length === 0) return [];
  const c = settings.compression;
  const lines: string[] = [];
  for (const v of c.variants) {
    const rss = idleRss(runs, v);
    for (const rate of c.rates) {
      const r = at(rs, v, rate);
      if (r === undefined) continue;
      const id = at(rs, 'identity', rate);
      const bytes = id ? id.wire / r.wire : NaN;
      const cpu = id ? r.cpu / id.cpu : NaN;
      lines.push(
        `| ${COMPRESSION_LABELS[v]} | ${n(rate)} (${n(r.published)}) | ${f(r.wire, 1)} | ${v === 'identity' ? '1.00×' : `${f(bytes)}× fewer`} | ${f(r.cpu)} | ${f(cpu)}× | ` +
          `${f(r.p50)} | ${f(r.p99)} | ${Number.isFinite(r.segmentMs) ? f(r.segmentMs) : '—'} | ${f(r.delivered, 1)} | ${rss ? f(rss.kib) : '—'} | ${f(r.generatorCpu)} | ${n(r.generatorBusiest)} |`,
      );
    }
  }
  const perConnection = c.rates.flatMap((rate) => {
    const g = at(rs, 'gzip', rate);
    const others = (['baseline-gzip', 'nginx-gzip'] as const).map((v) => at(rs, v, rate)).filter((r) => r !== undefined);
    if (g === undefined || others.length === 0) return [];
    return [`at ${n(rate)} events/s ${others.map((r) => `${COMPRESSION_LABELS[r.variant]} ${f(r.cpu / g.cpu, 1)}×`).join(', ')}`];
  });
  const overloaded = rs.filter((r) => r.published < 0.99 * r.rate).map((r) => `${COMPRESSION_LABELS[r.variant]} published ${n(r.published)} of ${n(r.rate)} events/s`);
  const rounds = Math.max(...rs.map((r) => r.rounds));
  return [
    '## Compression',
    '',
    `${n(c.subscribers)} subscribers on one topic, a JSON ticker (about 150 B: the bench's stamps, then a quote with repeating field names and changing numbers) published at ${c.rates.map(n).join(' and ')} events/s, ` +
      `${c.seconds} s per rate after ${c.warmupSeconds} s of warm-up, each variant in a fresh server process (uWS with SHARDS=1); medians of ${rounds} round(s), the variant order alternating between rounds. ` +
      'Clients of the gzip variants send `Accept-Encoding: gzip`; the generator inflates every gzip stream read by read, so latency, order and delivery are of the decoded events. ' +
      '**Wire B per delivery** is every byte the subscribers read from their sockets during the window (HTTP chunk framing included), before decoding, divided by the deliveries. ' +
      '**Server CPU** is utime + stime of the whole server process from /proc; **for nginx it adds nginx\'s master and worker processes** (nginx also proxies, so its figure includes proxying, not only compression); its publisher talks to the server directly. ' +
      'Per-connection compression: node:http at zlib level 6 (as encode-once), nginx at its default `gzip_comp_level` 1. ' +
      `RSS per idle connection: ${n(c.idleConnections)} idle streams on a fresh uWS server per variant, (RSS after − RSS before) / N, as in the idle-memory scenario. ` +
      '**Server time per fan-out segment** is the uWS server\'s own share of the latency, from its `/metrics` (`sse_fanout_segment_seconds_total` / `sse_fanout_segments_total` over the window): how long writing one segment of a pass (up to `SEGMENT_SIZE` subscribers) takes. ' +
      '**Generator CPU per delivery** is what the load generator spent per event received, decoding included: on these shared cores it is CPU the server and the other streams wait for, and a generator process reads its streams one after the other, so each stream\'s decoding delays the streams read after it.',
    '',
    `**Machine:** ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.nodeVersion}; server, nginx and load generator share the cores over loopback.`,
    '',
    '| variant | events/s (published) | wire B per delivery | vs identity | server CPU per delivery (µs) | vs identity | latency p50 (ms) | latency p99 (ms) | server time per fan-out segment (ms) | delivered (%) | RSS per idle connection (KiB) | generator CPU per delivery (µs) | busiest generator process (% of a core) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...lines,
    '',
    ...(perConnection.length > 0 ? [`**Per-connection compression, server CPU per delivery against encode-once gzip:** ${perConnection.join('; ')}.`, ''] : []),
    ...(overloaded.length > 0
      ? [`**Overloaded:** ${overloaded.join('; ')}: a publish is answered once every subscriber has it, so the publisher (${settings.publisherConnections} requests in flight) slows to what the server delivers, and the latency is mostly queueing.`, '']
      : []),
  ];
}
