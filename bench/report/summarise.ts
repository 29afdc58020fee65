// Turns the run records (one per scenario × variant × round) into medians per scenario and variant,
// the performance targets against the baseline, and the verdict on the load generator. Pure: records in, figures out.
import type { PhaseResult } from '../load/load-run.js';
import type { StormResult } from '../load/storm-run.js';
import type { MicroResult } from '../micro/micro-task.js';
import type { RunRecord } from '../scenarios/context.js';
import { CLUSTER_PUBLISH_VARIANTS } from '../scenarios/publish-throughput.js';

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A figure's median per variant, with the direction that counts as better. */
export interface Figure {
  scenario: string;
  key: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher' | 'none';
  values: Record<string, number>;
  /** the per-round values behind each median */
  rounds: Record<string, number[]>;
}

type Fanout = RunRecord & PhaseResult;

/** One publish at a time per connection, then pipelined (bench/scenarios/publish-throughput.ts). */
export const PUBLISH_SCENARIOS = ['publish-throughput', 'publish-pipelined'] as const;

/** Events/s one server in cluster mode must get into one Redis. */
export const CLUSTER_PUBLISH_TARGET = 20_000;

/** The reconnect storm's figures in the JSON (results/latest.md has its own section: bench/report/storm-section.ts). */
const STORM_FIGURES: Array<{ key: string; label: string; unit: string; better: Figure['better']; get: (r: StormResult) => number }> = [
  { key: 'stormAllBack', label: 'from T until all are back', unit: 'ms', better: 'lower', get: (r) => r.allBackMs },
  { key: 'stormHandshakeP50', label: 'handshake p50', unit: 'ms', better: 'lower', get: (r) => r.handshakeMs.p50 },
  { key: 'stormHandshakeP99', label: 'handshake p99', unit: 'ms', better: 'lower', get: (r) => r.handshakeMs.p99 },
  { key: 'stormCatchUpP99', label: 'catch-up latency p99', unit: 'ms', better: 'lower', get: (r) => (r.catchUpMs.samples > 0 ? r.catchUpMs.p99 : NaN) },
  { key: 'stormAllCaughtUp', label: 'from T until all are back and caught up', unit: 'ms', better: 'lower', get: (r) => r.allCaughtUpMs },
  { key: 'stormMissing', label: 'missing deliveries (summed over clients)', unit: '', better: 'lower', get: (r) => r.missing.total },
  { key: 'stormDuplicates', label: 'duplicate deliveries (summed over clients)', unit: '', better: 'lower', get: (r) => r.duplicates.total },
  { key: 'stormResets', label: 'reset frames', unit: '', better: 'lower', get: (r) => r.resets.total },
  { key: 'stormServerCores', label: 'server CPU in the storm window', unit: 'cores', better: 'none', get: (r) => r.storm.serverCores },
  { key: 'stormSteadyServerCores', label: 'server CPU before the storm', unit: 'cores', better: 'none', get: (r) => r.steady.serverCores },
  { key: 'stormServerExtraCpu', label: 'server CPU the storm added', unit: 's', better: 'lower', get: (r) => r.serverExtraCpuSeconds },
  { key: 'stormGeneratorCores', label: 'generator CPU in the storm window', unit: 'cores', better: 'none', get: (r) => r.storm.generatorCores },
  { key: 'stormGeneratorBusiest', label: 'busiest generator process in the storm window', unit: '% of a core', better: 'none', get: (r) => r.storm.busiestSubscriberCore * 100 },
];

const FANOUT_FIGURES: Array<{ key: string; label: string; unit: string; better: Figure['better']; get: (r: Fanout) => number }> = [
  { key: 'serverCpuPerDelivery', label: 'server CPU per delivery', unit: 'µs', better: 'lower', get: (r) => r.server.cpuMicrosPerDelivery },
  { key: 'serverSystemShare', label: 'of which in the kernel (stime)', unit: '%', better: 'none', get: (r) => (r.server.cpuSeconds > 0 ? (r.server.systemCpuSeconds / r.server.cpuSeconds) * 100 : NaN) },
  { key: 'deliveriesPerSecond', label: 'deliveries/s', unit: '', better: 'higher', get: (r) => r.deliveriesPerSecond },
  { key: 'deliveryRatio', label: 'delivered', unit: '%', better: 'higher', get: (r) => r.deliveryRatio * 100 },
  { key: 'publishedPerSecond', label: 'published events/s', unit: '', better: 'higher', get: (r) => r.published.perSecond },
  { key: 'publishResponseP99', label: 'publish answered (202) within, p99', unit: 'ms', better: 'lower', get: (r) => r.publishResponseMs.p99 },
  { key: 'p50', label: 'latency p50', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p50 },
  { key: 'p90', label: 'latency p90', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p90 },
  { key: 'p99', label: 'latency p99', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p99 },
  { key: 'p999', label: 'latency p99.9', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p999 },
  { key: 'max', label: 'latency max', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.max },
  { key: 'megabytesPerSecond', label: 'MB/s received', unit: '', better: 'higher', get: (r) => r.megabytesPerSecond },
  { key: 'orderViolations', label: 'order violations', unit: '', better: 'lower', get: (r) => r.orderViolations },
  { key: 'serverCores', label: 'server CPU', unit: 'cores', better: 'none', get: (r) => r.server.cores },
  { key: 'busiestThread', label: 'busiest server thread', unit: '% of a core', better: 'none', get: (r) => r.server.busiestThreadCore * 100 },
  { key: 'runQueueWait', label: 'server threads waiting for a CPU (run queue)', unit: 'ms per s', better: 'none', get: (r) => (r.server.runQueueWaitSeconds / r.wallSeconds) * 1000 },
  { key: 'mainThreadPerEvent', label: 'main-thread CPU per published event', unit: 'µs', better: 'lower', get: (r) => r.server.mainThreadMicrosPerEvent },
  { key: 'peakRss', label: 'server peak RSS', unit: 'MiB', better: 'lower', get: (r) => r.server.peakRssMiB },
  { key: 'generatorCpuPerDelivery', label: 'generator CPU per delivery', unit: 'µs', better: 'none', get: (r) => r.generator.cpuMicrosPerDelivery },
  { key: 'generatorBusiest', label: 'busiest generator process', unit: '% of a core', better: 'none', get: (r) => r.generator.busiestSubscriberCore * 100 },
  { key: 'machineBusy', label: 'machine busy (all tenants)', unit: '%', better: 'none', get: (r) => r.machineBusy * 100 },
];

function collect(records: RunRecord[], scenario: string, key: string, label: string, unit: string, better: Figure['better'], get: (r: never) => number): Figure | undefined {
  const mine = records.filter((r) => r.scenario === scenario);
  if (mine.length === 0) return undefined;
  const rounds: Record<string, number[]> = {};
  for (const r of mine) (rounds[r.variant] ??= []).push(get(r as never));
  const values: Record<string, number> = {};
  for (const [v, xs] of Object.entries(rounds)) values[v] = median(xs);
  return { scenario, key, label, unit, better, values, rounds };
}

export function figures(records: RunRecord[]): Figure[] {
  const out: Figure[] = [];
  const add = (f: Figure | undefined): void => {
    if (f !== undefined) out.push(f);
  };
  for (const scenario of ['fan-out', 'high-fan-out']) {
    for (const f of FANOUT_FIGURES) add(collect(records, scenario, f.key, f.label, f.unit, f.better, f.get as (r: never) => number));
  }
  add(collect(records, 'saturation', 'maxRate', 'highest rate with ≥ 99.9% delivered and p99 < 100 ms', 'events/s', 'higher', (r: { maxRate: number }) => r.maxRate));
  add(collect(records, 'saturation', 'maxDeliveriesPerSecond', 'deliveries/s at that rate', '', 'higher', (r: { maxDeliveriesPerSecond: number }) => r.maxDeliveriesPerSecond));
  add(collect(records, 'saturation', 'serverCpuPerDelivery', 'server CPU per delivery at that rate', 'µs', 'lower', (r: { atMax?: PhaseResult }) => r.atMax?.server.cpuMicrosPerDelivery ?? NaN));
  add(collect(records, 'idle-memory', 'rssPerConnection', 'RSS per idle connection', 'KiB', 'lower', (r: { rssPerConnectionKiB: number }) => r.rssPerConnectionKiB));
  add(collect(records, 'idle-memory', 'rssAfter', 'RSS with all connections open', 'MiB', 'lower', (r: { rssAfterMiB: number }) => r.rssAfterMiB));
  for (const scenario of PUBLISH_SCENARIOS) {
    add(collect(records, scenario, 'publishesPerSecond', 'publishes/s', '', 'higher', (r: { requestsPerSecond: number }) => r.requestsPerSecond));
    add(collect(records, scenario, 'publishP99', 'publish latency p99', 'ms', 'lower', (r: { latencyMs: { p99: number } }) => r.latencyMs.p99));
    add(collect(records, scenario, 'serverCpuPerPublish', 'server CPU per publish', 'µs', 'lower', (r: { serverCpuMicrosPerPublish: number }) => r.serverCpuMicrosPerPublish));
    add(collect(records, scenario, 'generatorCpuPerPublish', 'autocannon CPU per publish', 'µs', 'none', (r: { generatorCpuMicrosPerPublish: number }) => r.generatorCpuMicrosPerPublish));
  }
  for (const f of STORM_FIGURES) add(collect(records, 'storm', f.key, f.label, f.unit, f.better, f.get as (r: never) => number));
  return out;
}

export function microResults(records: RunRecord[]): MicroResult[] {
  return records.filter((r) => r.scenario === 'micro') as unknown as MicroResult[];
}

export interface TargetCheck {
  target: string;
  /** true met, false missed, undefined not measured in this run */
  met: boolean | undefined;
  detail: string;
}

function find(fs: Figure[], scenario: string, key: string): Figure | undefined {
  return fs.find((f) => f.scenario === scenario && f.key === key);
}

const fmt = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/**
 * The performance targets against the node:http baseline, each for every uWS variant measured, and
 * the cluster-mode publish target. `publishConnections`: the publishers of the two cluster-mode rows
 * (CLUSTER_PUBLISH_VARIANTS).
 */
export function checkTargets(
  records: RunRecord[],
  fs: Figure[],
  variants: string[],
  rates: { fanOut: number; highFanOut: number },
  publishConnections: number[],
): TargetCheck[] {
  const uws = variants.filter((v) => v !== 'baseline');
  const checks: TargetCheck[] = [];
  const ratioCheck = (target: string, f: Figure | undefined, limit: number, extra?: (v: string) => [boolean, string]): void => {
    if (f === undefined || f.values['baseline'] === undefined || uws.length === 0) {
      checks.push({ target, met: undefined, detail: 'not measured in this run (needs the baseline and a uWS variant)' });
      return;
    }
    const base = f.values['baseline']!;
    const parts: string[] = [];
    let met = true;
    for (const v of uws) {
      const value = f.values[v];
      if (value === undefined) continue;
      const ratio = value / base;
      // a figure where higher is better must reach the limit; any other must stay under it
      const margin = f.better === 'higher' ? ratio / limit : limit / ratio;
      let ok = margin >= 1;
      let note = `${v}: ${fmt(value, 3)} ${f.unit} vs baseline ${fmt(base, 3)} ${f.unit} = ${fmt(ratio, 3)}× (limit ${fmt(limit, 3)}×; ${ok ? `met with ${fmt(margin)}× to spare` : `missed by ${fmt(1 / margin)}×`})`;
      if (extra !== undefined) {
        const [ok2, note2] = extra(v);
        ok &&= ok2;
        note += `; ${note2}`;
      }
      met &&= ok;
      parts.push(note);
    }
    checks.push({ target, met, detail: parts.join('. ') });
  };

  ratioCheck('Server CPU per delivery in fan-out: uWS ≤ 1/5 of the baseline', find(fs, 'fan-out', 'serverCpuPerDelivery'), 0.2);

  // Every scenario publishes its full target rate on uWS: the worst round of each steady-rate scenario.
  const steady = records.filter((r) => (r.scenario === 'fan-out' || r.scenario === 'high-fan-out') && r.variant !== 'baseline') as Array<RunRecord & PhaseResult>;
  if (steady.length === 0) checks.push({ target: 'Every scenario publishes its full target rate on uWS', met: undefined, detail: 'not measured in this run' });
  else {
    const parts: string[] = [];
    let met = true;
    for (const scenario of ['fan-out', 'high-fan-out']) {
      for (const v of uws) {
        const mine = steady.filter((r) => r.scenario === scenario && r.variant === v);
        if (mine.length === 0) continue;
        const worst = Math.min(...mine.map((r) => r.published.accepted / r.published.target));
        const rate = scenario === 'fan-out' ? rates.fanOut : rates.highFanOut;
        const ok = worst >= 0.99;
        met &&= ok;
        parts.push(`${scenario} ${v}: worst round ${fmt(worst * rate, 1)}/${rate} events/s (${fmt(worst * 100, 1)}%)`);
      }
    }
    checks.push({ target: 'Every scenario publishes its full target rate on uWS (≥ 99% of it in every round)', met, detail: parts.join('; ') });
  }

  const p99 = find(fs, 'high-fan-out', 'p99');
  ratioCheck('p99 latency at high fan-out: uWS ≤ 1/5 of the baseline and < 100 ms', p99, 0.2, (v) => {
    const value = p99!.values[v]!;
    return [value < 100, value < 100 ? `${fmt(value)} ms < 100 ms` : `${fmt(value)} ms is NOT under 100 ms`];
  });
  ratioCheck('RSS per idle connection: uWS ≤ 1/3 of the baseline', find(fs, 'idle-memory', 'rssPerConnection'), 1 / 3);
  for (const [scenario, how] of [
    [PUBLISH_SCENARIOS[0], 'one at a time per connection'],
    [PUBLISH_SCENARIOS[1], 'pipelined'],
  ] as const) {
    ratioCheck(`Publishes/s (${how}): uWS ≥ 2× the baseline`, find(fs, scenario, 'publishesPerSecond'), 2);
    ratioCheck(`Server CPU per publish (${how}): uWS ≤ 1/2 of the baseline`, find(fs, scenario, 'serverCpuPerPublish'), 0.5);
  }
  checks.push(clusterPublishCheck(fs, publishConnections));
  return checks;
}

function clusterPublishCheck(fs: Figure[], connections: number[]): TargetCheck {
  const target = `Cluster mode: ≥ ${CLUSTER_PUBLISH_TARGET.toLocaleString('en-US')} events/s into one Redis`;
  const rate = find(fs, PUBLISH_SCENARIOS[0], 'publishesPerSecond')?.values ?? {};
  const measured = CLUSTER_PUBLISH_VARIANTS.map((v, i) => [connections[i], rate[v]] as const).filter(([, x]) => x !== undefined) as Array<readonly [number, number]>;
  if (measured.length === 0) return { target, met: undefined, detail: 'not measured in this run' };
  const best = Math.max(...measured.map(([, x]) => x));
  return { target, met: best >= CLUSTER_PUBLISH_TARGET, detail: measured.map(([c, x]) => `${c} connections: ${fmt(x, 0)} events/s`).join('; ') };
}

/** The sequencer's cost per event with 0, 1,000 and 10,000 subscribers on a shard thread (micro-benchmark): it must not grow. */
export function sequencerIndependence(micro: MicroResult[]): string | undefined {
  const rows = micro.filter((m) => m.name.startsWith('LocalSequencer.assign in the main thread'));
  if (rows.length < 2) return undefined;
  const ns = rows.map((m) => m.nsPerOp);
  const spread = Math.max(...ns) / Math.min(...ns);
  const parts = rows.map((m) => `${fmt(m.nsPerOp, 0)} ns (${/to ([\d,]+) subscribers/.exec(m.name)?.[1] ?? '?'} subscribers)`);
  return `Sequencer CPU per event in the main thread while a shard thread fans out: ${parts.join(', ')}; largest/smallest ${fmt(spread)}× (${spread < 1.25 ? 'does not depend on the subscriber count' : 'VARIES with the subscriber count, or the run was noisy'}).`;
}

/** Whether the load generator limited any measured phase, from the per-phase verdicts. */
export function generatorVerdict(records: RunRecord[]): { phases: number; generatorBound: number; machineBound: number; serverBound: number; busiestCore: number; text: string } {
  const phases: PhaseResult[] = [];
  for (const r of records) {
    if (r.scenario === 'fan-out' || r.scenario === 'high-fan-out') phases.push(r as unknown as PhaseResult);
    if (r.scenario === 'saturation' && (r as { atMax?: PhaseResult }).atMax !== undefined) phases.push((r as unknown as { atMax: PhaseResult }).atMax);
  }
  const count = (b: string): number => phases.filter((p) => p.bottleneck === b).length;
  const busiestCore = Math.max(0, ...phases.map((p) => p.generator.busiestSubscriberCore));
  const g = count('generator');
  const m = phases.filter((p) => p.machineBusy > 0.95).length;
  const s = phases.filter((p) => p.server.busiestThreadCore > 0.9).length;
  const text =
    phases.length === 0
      ? 'no load phase in this run'
      : `${g === 0 ? 'not the bottleneck' : `the bottleneck in ${g} of ${phases.length} measured phases`}: busiest generator process used at most ${Math.round(busiestCore * 100)}% of a core. ` +
        `All cores busy (server, generator and other tenants) in ${m} phase(s); a server thread on a full core in ${s}.`;
  return { phases: phases.length, generatorBound: g, machineBound: m, serverBound: s, busiestCore, text };
}
