// The "Durability" section of results/latest.md and its four targets: the DATA_DIR log
// (DURABILITY=write, fsync) against memory only in the same run, from the durability scenario's
// records (bench/scenarios/durability.ts). Medians over rounds, with each figure's spread.
import type { PhaseResult } from '../load/load-run.js';
import type { MachineInfo } from '../proc-stats.js';
import type { RunRecord } from '../scenarios/context.js';
import { SCENARIO, type DurabilityMode, type StartMode } from '../scenarios/durability.js';
import type { PublishLoadResult } from '../scenarios/publish-throughput.js';
import type { BenchSettings } from '../settings.js';
import { median, type TargetCheck } from './summarise.js';

type FanOut = RunRecord & PhaseResult;
type Publish = RunRecord & PublishLoadResult & { connections: number; pipelining: number; fsyncs: number; fsyncsPerSecond: number; publishesPerFsync: number | null };
type Disk = RunRecord & { events: number; diskBytesPerEvent: number; sseBytesPerEvent: number };
type StartUp = RunRecord & { events: number; startMs: number; rssMiB: number; resumeMs: number[] };

const CPU_LIMIT = 1.05;
const P99_LIMIT = 1.1;
const PUBLISH_FLOOR = 0.8;
const RESUME_LIMIT_MS = 20;

const MODE_LABELS: Record<DurabilityMode, string> = { memory: 'memory only (`DATA_DIR=`)', write: '`DATA_DIR`, `DURABILITY=write`', fsync: '`DATA_DIR`, `DURABILITY=fsync`' };
const START_LABELS: Record<StartMode, string> = {
  empty: 'memory only, no history (for reference)',
  'log-tail-in-memory': '`DATA_DIR`, the newest tenth in memory (`HISTORY_MEMORY_SIZE`), the rest read from disk',
  'log-all-in-memory': '`DATA_DIR`, all of it in memory (`HISTORY_MEMORY_SIZE` = `HISTORY_SIZE`)',
};

const of = <T>(runs: RunRecord[], measure: string, variant?: string): Array<RunRecord & T> =>
  runs.filter((r) => r.scenario === SCENARIO && r['measure'] === measure && (variant === undefined || r.variant === variant)) as Array<RunRecord & T>;
const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
/** "median (min – max)" over the rounds, or the value alone for one round */
function spread(xs: number[], show: (x: number) => string): string {
  if (xs.length === 0) return '—';
  if (xs.length === 1) return show(xs[0]!);
  return `${show(median(xs))} (${show(Math.min(...xs))} – ${show(Math.max(...xs))})`;
}

/** The fan-out figure's medians for memory and write, and write / memory round by round (the two phases were measured seconds apart), then the median. */
function fanOutPair(runs: RunRecord[], get: (r: FanOut) => number): { memory: number; write: number; ratio: number; rounds: string } | undefined {
  const memory = of<PhaseResult>(runs, 'fan-out', 'memory');
  const write = of<PhaseResult>(runs, 'fan-out', 'write');
  const ratios = write.flatMap((w) => {
    const m = memory.find((r) => r.round === w.round);
    return m === undefined ? [] : [get(w) / get(m)];
  });
  if (ratios.length === 0) return undefined;
  return { memory: median(memory.map(get)), write: median(write.map(get)), ratio: median(ratios), rounds: `per round ${ratios.map((x) => f(x)).join(', ')}` };
}

/** publishes/s of `mode` over memory only's, round by round (the two were measured seconds apart) */
function pairedRatios(runs: RunRecord[], measure: string, mode: DurabilityMode): number[] {
  const memory = of<Publish>(runs, measure, 'memory');
  return of<Publish>(runs, measure, mode).flatMap((r) => {
    const base = memory.find((m) => m.round === r.round);
    return base === undefined || base.requestsPerSecond === 0 ? [] : [r.requestsPerSecond / base.requestsPerSecond];
  });
}

function resumeSamples(runs: RunRecord[], mode: StartMode): number[] {
  return of<StartUp>(runs, 'start-up', mode).flatMap((r) => r.resumeMs);
}

export function checkDurabilityTargets(runs: RunRecord[], settings: Readonly<BenchSettings>): TargetCheck[] {
  const notMeasured = (target: string): TargetCheck => ({ target, met: undefined, detail: 'not measured in this run (the durability scenario)' });
  const checks: TargetCheck[] = [];
  const ratioTarget = (target: string, get: (r: FanOut) => number, limit: number, unit: string): void => {
    const pair = fanOutPair(runs, get);
    if (pair === undefined) return void checks.push(notMeasured(target));
    checks.push({ target, met: pair.ratio <= limit, detail: `${f(pair.ratio, 3)}×, the median of the rounds' write / memory (limit ${limit}×; ${pair.rounds}); medians ${f(pair.write, 3)} ${unit} vs ${f(pair.memory, 3)} ${unit}` });
  };
  ratioTarget(`Durability: server CPU per delivery in fan-out with DATA_DIR (DURABILITY=write) ≤ ${CPU_LIMIT}× memory only`, (r) => r.server.cpuMicrosPerDelivery, CPU_LIMIT, 'µs');
  ratioTarget(`Durability: fan-out latency p99 with DATA_DIR (DURABILITY=write) ≤ ${P99_LIMIT}× memory only`, (r) => r.latencyMs.p99, P99_LIMIT, 'ms');

  const publishTarget = `Durability: pipelined publishes/s with DURABILITY=write ≥ ${PUBLISH_FLOOR}× memory only`;
  const memory = of<Publish>(runs, 'pipelined', 'memory').map((r) => r.requestsPerSecond);
  const write = of<Publish>(runs, 'pipelined', 'write').map((r) => r.requestsPerSecond);
  const ratios = pairedRatios(runs, 'pipelined', 'write');
  if (ratios.length === 0) checks.push(notMeasured(publishTarget));
  else {
    const ratio = median(ratios);
    checks.push({
      target: publishTarget,
      met: ratio >= PUBLISH_FLOOR,
      detail: `${f(ratio)}×, the median of ${ratios.length} rounds' write / memory (${ratios.map((x) => f(x)).join(', ')}); publishes/s memory ${spread(memory, n)}, write ${spread(write, n)}`,
    });
  }

  const resumeTarget = `Durability: a quiet topic's resume after ${n(settings.durability.events)} events on other topics, request to the replay's last byte, < ${RESUME_LIMIT_MS} ms (from disk, median)`;
  const resumes = resumeSamples(runs, 'log-tail-in-memory');
  if (resumes.length === 0) checks.push(notMeasured(resumeTarget));
  else checks.push({ target: resumeTarget, met: median(resumes) < RESUME_LIMIT_MS, detail: `${f(median(resumes))} ms, median of ${resumes.length} (${f(Math.min(...resumes))} – ${f(Math.max(...resumes))} ms)` });
  return checks;
}

function publishRows(runs: RunRecord[], settings: Readonly<BenchSettings>): string[] {
  const rows: string[] = [];
  for (const measure of ['pipelined', 'concurrent']) {
    for (const mode of ['memory', 'write', 'fsync'] as const) {
      const rs = of<Publish>(runs, measure, mode);
      if (rs.length === 0) continue;
      const rate = rs.map((r) => r.requestsPerSecond);
      const perFsync = rs.map((r) => r.publishesPerFsync).filter((x) => x !== null);
      const load = `${rs[0]!.connections} × ${measure === 'pipelined' ? `${rs[0]!.pipelining} pipelined` : 'one at a time'}`;
      rows.push(
        `| ${load} | ${MODE_LABELS[mode]} | ${spread(rate, n)} | ${mode === 'memory' ? '1.00×' : spread(pairedRatios(runs, measure, mode), (x) => `${f(x)}×`)} | ${f(median(rs.map((r) => r.serverCpuMicrosPerPublish)), 1)} | ${f(median(rs.map((r) => r.latencyMs.p99)), 1)} | ` +
          `${spread(rs.map((r) => r.fsyncsPerSecond), (x) => f(x, 1))} | ${perFsync.length > 0 ? spread(perFsync, (x) => f(x, 1)) : '—'} | ${f(median(rs.map((r) => r.generatorCpuMicrosPerPublish)), 1)} |`,
      );
    }
  }
  return rows.length === 0
    ? []
    : [
        `Publishes/s with autocannon (no subscribers, ${settings.durability.payloadBytes} B bodies): one fresh server per mode on a fresh directory, all running side by side, and per load ${settings.durability.publishRounds} round(s) of ${settings.durability.publishSeconds} s runs going from one server to the next, the order alternating: median (min – max over the rounds). ` +
          '"vs memory" is taken round by round (each mode against memory only measured seconds before or after it), then the median: other tenants of the machine swing the rates between rounds far more than the log does. ' +
          'fdatasyncs are the server\'s own count (`sse_event_log_fsyncs_total`, every fdatasync of the log\'s files) over the run: `DURABILITY=write` syncs once per `FSYNC_MS` (1 s), `fsync` once per event-loop turn that wrote, shared by every publish in it (group commit). ' +
          '`fsync` cannot pipeline (uWS closes a connection that pipelines while an answer waits), hence the row with many connections, one publish at a time each, for all three.',
        '',
        '| load | log | publishes/s | vs memory | server CPU per publish (µs) | latency p99 (ms) | fdatasyncs/s | publishes per fdatasync | autocannon CPU per publish (µs) |',
        '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...rows,
        '',
      ];
}

export function renderDurability(runs: RunRecord[], settings: Readonly<BenchSettings>, m: MachineInfo): string[] {
  if (!runs.some((r) => r.scenario === SCENARIO)) return [];
  const out = [
    '## Durability',
    '',
    `The \`DATA_DIR\` event log ([durability](../docs/durability.md)) against memory only (\`DATA_DIR=\`), uWS with SHARDS=1, in this run. ` +
      `**Machine:** ${m.cores} cores (${m.cpuModel}), Node ${m.nodeVersion}; server, autocannon and load generator share the cores; the log is in a temporary directory (os.tmpdir(): its file system is what the figures measure).`,
    '',
  ];
  out.push(...fanOutRows(runs, settings), ...publishRows(runs, settings));
  const disk = of<Disk>(runs, 'disk')[0];
  const starts = (['empty', 'log-tail-in-memory', 'log-all-in-memory'] as const).flatMap((mode) => {
    const rs = of<StartUp>(runs, 'start-up', mode);
    if (rs.length === 0) return [];
    const resumes = resumeSamples(runs, mode);
    return [`| ${START_LABELS[mode]} | ${n(rs[0]!.events)} | ${spread(rs.map((r) => r.startMs), n)} | ${spread(rs.map((r) => r.rssMiB), n)} | ${resumes.length > 0 ? spread(resumes, (x) => f(x, 1)) : '—'} |`];
  });
  if (starts.length > 0) {
    out.push(
      `A log of ${n(settings.durability.events)} events written beforehand, 256 to a batch, on 100 busy topics with one event of a quiet topic at each end. Start-up: from spawning the server to its \`listening\` line, with \`HISTORY_SIZE\` = the events; RSS when it listens. ` +
        `Resume: a quiet-topic stream from its first event's id, timed on the client (loopback) from the request to the arrival of the other quiet event, the last of the log, across every busy event; ${settings.durability.resumes} resumes per server, median (min – max) over all of them.`,
      '',
      '| history at start | retained events | start-up to listening (ms) | RSS (MiB) | quiet-topic resume (ms) |',
      '| --- | ---: | ---: | ---: | ---: |',
      ...starts,
      '',
    );
  }
  if (disk !== undefined) {
    out.push(
      `**Disk per event:** ${f(disk.diskBytesPerEvent, 1)} bytes in the segment files against ${f(disk.sseBytesPerEvent, 1)} bytes of SSE (${settings.durability.payloadBytes}-byte data): ${f(disk.diskBytesPerEvent / disk.sseBytesPerEvent)}× (the batch layout's topic index and one record header a batch).`,
      '',
    );
  }
  return out;
}

function fanOutRows(runs: RunRecord[], settings: Readonly<BenchSettings>): string[] {
  const rows: Array<[string, (r: FanOut) => number, number]> = [
    ['**server CPU per delivery** (µs)', (r) => r.server.cpuMicrosPerDelivery, 3],
    ['latency p50 (ms)', (r) => r.latencyMs.p50, 2],
    ['**latency p99** (ms)', (r) => r.latencyMs.p99, 2],
    ['publish answered (202) within, p99 (ms)', (r) => r.publishResponseMs.p99, 2],
    ['delivered (%)', (r) => r.deliveryRatio * 100, 1],
    ['published events/s', (r) => r.published.perSecond, 0],
    ['server peak RSS (MiB)', (r) => r.server.peakRssMiB, 0],
    ['busiest generator process (% of a core)', (r) => r.generator.busiestSubscriberCore * 100, 0],
    ['machine busy, all tenants (%)', (r) => r.machineBusy * 100, 0],
  ];
  const lines = rows.flatMap(([label, get, digits]) => {
    const pair = fanOutPair(runs, get);
    return pair === undefined ? [] : [`| ${label} | ${f(pair.memory, digits)} | ${f(pair.write, digits)} | ${f(pair.ratio, 3)}× |`];
  });
  if (lines.length === 0) return [];
  const s = settings.fanOut;
  return [
    `The fan-out load (${n(s.subscribers)} subscribers × ${n(s.rate)} events/s × ${s.payloadBytes} B): both servers fresh, loaded side by side (each with its subscribers connected and warmed up), and ${settings.durability.fanOutRounds} measured phase(s) of ${settings.durability.fanOutSeconds} s per mode going from one to the other, the order alternating; medians over the phases (a phase counts deliveries until they have all arrived).`,
    '',
    '| figure | memory only | `DATA_DIR`, `DURABILITY=write` | write / memory (median of the rounds\' ratios) |',
    '| --- | ---: | ---: | ---: |',
    ...lines,
    '',
  ];
}
