// results/latest.md: one table of medians with ratios to the baseline measured in the same run,
// the performance targets (against the baseline; compression's against identity, durability's against memory only), the load generator's verdict, the micro-benchmarks, and the machine.
import { renderCompression } from './compression-section.js';
import { renderDurability } from './durability-section.js';
import { renderHandover } from './handover-section.js';
import { renderStorm } from './storm-section.js';
import { renderTwoServer } from './two-server-section.js';
import { renderPublish } from './publish-section.js';
import { formatNs } from '../scenarios/micro.js';
import { parseVariant } from '../server-process.js';
import type { ResultsFile } from './results-file.js';
import { sequencerIndependence, type Figure } from './summarise.js';

export function formatValue(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  if (a >= 1_000) return Math.round(x).toLocaleString('en-US');
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

/** "4.2× better" / "1.3× worse" against the baseline, in the figure's own direction. */
export function ratioText(f: Figure, value: number, base: number | undefined): string {
  if (base === undefined || !Number.isFinite(base) || !Number.isFinite(value) || base === 0 || value === 0) return '';
  if (f.better === 'none') return '';
  const gain = f.better === 'lower' ? base / value : value / base;
  if (Math.abs(gain - 1) < 0.005) return 'same';
  return gain >= 1 ? `${gain.toFixed(2)}× better` : `${(1 / gain).toFixed(2)}× worse`;
}

function scenarioTitle(r: ResultsFile, scenario: string): string {
  const s = r.settings;
  const n = (x: number): string => x.toLocaleString('en-US');
  switch (scenario) {
    case 'fan-out':
      return `fan-out: ${n(s.fanOut.subscribers)} subscribers × ${n(s.fanOut.rate)} events/s × ${s.fanOut.payloadBytes} B, ${s.fanOut.seconds} s`;
    case 'high-fan-out':
      return `high fan-out: ${n(s.highFanOut.subscribers)} subscribers × ${n(s.highFanOut.rate)} events/s, ${s.highFanOut.seconds} s`;
    case 'saturation':
      return `saturation: ${n(s.saturation.subscribers)} subscribers, rate ×${s.saturation.factor.toFixed(2)} per ${s.saturation.stepSeconds} s step, ${s.saturation.publisherConnections} publisher connections`;
    case 'idle-memory':
      return `idle memory: ${n(s.idleMemory.connections)} idle connections`;
    case 'publish-throughput':
      return `publish throughput: autocannon, ${s.publishThroughput.connections} connections, one publish at a time each, no subscribers`;
    case 'publish-pipelined':
      return `publish throughput, pipelined: the same with ${s.publishThroughput.pipelined} publishes on their way per connection`;
    default:
      return scenario;
  }
}

/** Rows shown in the table (the JSON has every figure). */
const SHOWN = new Set([
  'serverCpuPerDelivery',
  'serverSystemShare',
  'deliveriesPerSecond',
  'deliveryRatio',
  'publishedPerSecond',
  'publishResponseP99',
  'p50',
  'p99',
  'p999',
  'max',
  'megabytesPerSecond',
  'orderViolations',
  'serverCores',
  'runQueueWait',
  'peakRss',
  'generatorBusiest',
  'maxRate',
  'maxDeliveriesPerSecond',
  'rssPerConnection',
  'publishesPerSecond',
  'publishP99',
  'serverCpuPerPublish',
  'generatorCpuPerPublish',
]);

function minutes(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** Says where a variant could not publish the target rate: its figures then describe an overloaded server. */
function overloadNotes(r: ResultsFile): string[] {
  const notes: string[] = [];
  for (const scenario of ['fan-out', 'high-fan-out']) {
    const f = r.figures.find((x) => x.scenario === scenario && x.key === 'publishedPerSecond');
    const rate = scenario === 'fan-out' ? r.settings.fanOut.rate : r.settings.highFanOut.rate;
    if (f === undefined) continue;
    for (const [v, value] of Object.entries(f.values)) {
      if (value >= 0.99 * rate) continue;
      notes.push(
        `in ${scenario}, ${parseVariant(v)?.label ?? v} published only ${formatValue(value)} of ${rate} events/s: it answers a publish after writing it to every subscriber, so it is overloaded, ` +
          `its latency is mostly queueing (bounded by the publisher's ${r.settings.publisherConnections} requests in flight), and its CPU per delivery depends on how many publishes pile up per event-loop turn (writes to one socket in one turn go out together).`,
      );
    }
  }
  return notes;
}

export function renderMarkdown(r: ResultsFile): string {
  const variants = r.settings.variants;
  const labels = variants.map((v) => parseVariant(v)?.label ?? v);
  const out: string[] = [];
  const m = r.machine;
  const srv = r.serverSettings ?? {};
  out.push('# Benchmark results');
  out.push('');
  out.push(
    `\`${r.mode === 'full' ? '' : `BENCH_${r.mode.toUpperCase()}=1 `}make bench\`${r.complete ? '' : ' (INCOMPLETE)'} started ${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, took ${minutes(r.durationSeconds)}. ` +
      `Medians of ${r.settings.rounds} round(s) for fan-out and high fan-out (each variant in a fresh server process, variant order alternating between rounds); one round for the others. ` +
      `Ratios are to the baseline measured in this run.`,
  );
  out.push('');
  out.push(
    `**Machine:** ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.nodeVersion}, open files ${m.openFilesLimit}; ` +
      `server and load generator share the cores over loopback, and other jobs may be running (see "machine busy"). ` +
      `**uWS server settings:** BATCH_SIZE=${String(srv['batchSize'] ?? '?')} BATCH_MS=${String(srv['batchMs'] ?? '?')} SEGMENT_SIZE=${String(srv['segmentSize'] ?? '?')} MAX_BACKPRESSURE=${String(srv['maxBackpressure'] ?? '?')} HEARTBEAT_MS=${String(srv['heartbeatMs'] ?? '?')}.`,
  );
  out.push('');
  out.push(`| scenario | figure | ${labels.join(' | ')} |`);
  out.push(`| --- | --- | ${variants.map(() => '---:').join(' | ')} |`);
  let lastScenario = '';
  for (const f of r.figures) {
    if (!SHOWN.has(f.key)) continue;
    const title = f.scenario === lastScenario ? '' : scenarioTitle(r, f.scenario);
    lastScenario = f.scenario;
    const base = f.values['baseline'];
    const cells = variants.map((v) => {
      const value = f.values[v];
      if (value === undefined) return '—';
      const ratio = v === 'baseline' ? '' : ratioText(f, value, base);
      return ratio === '' ? formatValue(value) : `${formatValue(value)} (${ratio})`;
    });
    const head = f.key === 'serverCpuPerDelivery' ? `**${f.label}** (${f.unit})` : `${f.label}${f.unit ? ` (${f.unit})` : ''}`;
    out.push(`| ${title} | ${head} | ${cells.join(' | ')} |`);
  }
  out.push('');
  out.push('## Targets');
  out.push('');
  for (const t of r.targets) out.push(`- ${t.met === undefined ? '➖ not measured' : t.met ? '✅ met' : '❌ missed'}: **${t.target}**. ${t.detail}`);
  out.push('');
  out.push(`**Load generator:** ${r.generator.text}`);
  out.push('');
  const seq = sequencerIndependence(r.micro);
  if (seq !== undefined) {
    out.push(`**Sequencer:** ${seq}`);
    out.push('');
  }
  out.push(...renderTwoServer(r.runs));
  out.push(...renderPublish(r));
  out.push(...renderStorm(r.runs, r.settings));
  out.push(...renderHandover(r.runs, r.settings));
  out.push(...renderCompression(r.runs, r.settings, r.machine));
  out.push(...renderDurability(r.runs, r.settings, r.machine));
  const notes = overloadNotes(r);
  if (notes.length > 0) {
    for (const n of notes) out.push(`**Note:** ${n}`);
    out.push('');
  }
  if (r.micro.length > 0) {
    out.push('## Micro-benchmarks (tinybench, the uWS server\'s code)');
    out.push('');
    for (const x of r.micro) {
      const median = x.nsPerOpMedian === undefined ? '' : `, median ${formatNs(x.nsPerOpMedian)}`;
      out.push(`- ${x.group}: ${x.name}: **${formatNs(x.nsPerOp)}** per ${x.unit} (±${x.rme.toFixed(1)}%${median})`);
    }
    out.push('');
  }
  if (r.charts.length > 0) {
    for (const c of r.charts) out.push(`![${c.replace('.svg', '')}](${c})`);
    out.push('');
  }
  out.push(
    `Raw figures: \`${r.file}\`. Server CPU is utime + stime of the whole server process from /proc (every thread); over loopback the kernel does the receiving side's TCP work in the sender's context, so part of every variant's stime is the cost of delivering to the generator. ` +
      `Latency is publish-to-receive on one clock (CLOCK_MONOTONIC): from the moment the publisher writes the request to the moment a subscriber's read reaches JavaScript.`,
  );
  out.push('');
  return out.join('\n');
}
