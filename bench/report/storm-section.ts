// The "Reconnect storm" section of results/latest.md: one column per variant, from the storm records
// (one round each), and a sentence on what the baseline lost.
import type { StormResult } from '../load/storm-run.js';
import type { RunRecord } from '../scenarios/context.js';
import { parseVariant } from '../server-process.js';
import type { BenchSettings } from '../settings.js';
import { formatValue } from './markdown.js';

type Storm = RunRecord & StormResult;

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x: number): string => formatValue(x);

const ROWS: Array<[string, (r: Storm) => string]> = [
  ['streams closed at T / back', (r) => `${n(r.closed)} / ${n(r.reconnected)}${r.failed > 0 ? ` (${n(r.failed)} failed)` : ''}`],
  ['**from T until all are back** (ms)', (r) => (r.failed > 0 ? `${ms(r.allBackMs)} (${n(r.failed)} never)` : ms(r.allBackMs))],
  ['per client, T to back: p50 / p99 (ms)', (r) => `${ms(r.backMs.p50)} / ${ms(r.backMs.p99)}`],
  ['**handshake** (connect to response head): p50 / p99 (ms)', (r) => `${ms(r.handshakeMs.p50)} / ${ms(r.handshakeMs.p99)}`],
  ['catch-up deliveries (published before the client was back)', (r) => n(r.catchUpMs.samples)],
  ['**catch-up latency** (publish to receipt): p50 / p99 (ms)', (r) => (r.catchUpMs.samples > 0 ? `${ms(r.catchUpMs.p50)} / ${ms(r.catchUpMs.p99)}` : '—')],
  ['from T until all are back and caught up (ms)', (r) => ms(r.allCaughtUpMs)],
  ['**missing deliveries**, summed over clients (clients affected)', (r) => `${n(r.missing.total)} (${n(r.missing.clients)})`],
  ['**duplicate deliveries** (clients affected)', (r) => `${n(r.duplicates.total)} (${n(r.duplicates.clients)})`],
  ['reset frames (clients)', (r) => `${n(r.resets.total)} (${n(r.resets.clients)})`],
  ['order violations', (r) => n(r.orderViolations)],
  ['kernel: accept-queue overflows / SYN retransmits (whole machine)', (r) => `${n(r.kernel.listenOverflows)} / ${n(r.kernel.synRetransmits)}`],
  ['published events/s (target)', (r) => `${n(r.published.perSecond)} (${n(r.rate)})`],
  ['delivery latency over the run: p50 / p99 (ms)', (r) => `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)}`],
  ['**server CPU in the storm window** (cores; window s)', (r) => `${formatValue(r.storm.serverCores)} (${formatValue(r.storm.windowSeconds)} s)`],
  ['server CPU just before T, as long (cores)', (r) => formatValue(r.steady.serverCores)],
  ['server CPU the storm added over the steady rate (CPU s)', (r) => r.serverExtraCpuSeconds.toFixed(2)],
  ['server threads waiting for a CPU in the storm window (ms per s)', (r) => n(r.storm.serverRunQueueMsPerSecond)],
  ['generator CPU in the storm window (cores; busiest process % of a core)', (r) => `${formatValue(r.storm.generatorCores)} (${n(r.storm.busiestSubscriberCore * 100)})`],
  ['generator while reconnecting: busiest event loop busy (%; its CPU, % of a core)', (r) => `${n(r.generatorReconnecting.busiestLoop * 100)} (${n(r.generatorReconnecting.busiestCore * 100)})`],
  ['generator threads waiting for a CPU in the storm window (ms per s)', (r) => n(r.storm.generatorRunQueueMsPerSecond)],
  ['machine busy in the storm window, all tenants (%)', (r) => n(r.storm.machineBusy * 100)],
];

export function renderStorm(runs: RunRecord[], settings: BenchSettings): string[] {
  const mine = runs.filter((r) => r.scenario === 'storm') as Storm[];
  if (mine.length === 0) return [];
  const st = settings.storm;
  const variants = settings.variants.filter((v) => mine.some((r) => r.variant === v));
  const byVariant = (v: string): Storm => mine.find((r) => r.variant === v)!;
  const out = [
    '## Reconnect storm',
    '',
    `${n(st.subscribers)} subscribers on one topic, ${n(st.rate)} events/s × ${st.payloadBytes} B published for ${st.beforeSeconds} s; then, at T, every stream is closed from the client side ` +
      `(${st.close === 'fin' ? 'a normal close' : 'a reset'}, both generator processes at the same instant) and every client reconnects at once with the id of the last event it received as \`Last-Event-ID\`, ` +
      `as a browser's EventSource does; publishing goes on for ${st.afterSeconds} s. One round per variant, each in a fresh server process. ` +
      `"Back" is the response head of the reconnect; catch-up deliveries are the events a reconnected stream received that had been published before its head arrived (while the client was away, or still in flight when it was closed; the baseline, which keeps no history, delivers only those published after it had taken the new connection). ` +
      `Missing and duplicate deliveries are counted per client over the whole run (every accepted event is due to every client) and summed. ` +
      `Handshake and back times are read by the generator: when its event loop is busy while reconnecting (parsing every client's catch-up), it reads response heads late, and the figures include that delay. ` +
      `A SYN that finds the server's accept queue full is dropped and sent again by the client 1 s later (then 3 s, 7 s...): the kernel's counts show how much of the wait that was (the queue is 512 for uWS, 511 for node:http). ` +
      `The storm window runs from T until every client is back and caught up (at least ${st.windowSeconds} s); the window before T is as long. Server CPU is the whole process (every thread) from /proc; the generator shares the cores.`,
    '',
    `| figure | ${variants.map((v) => parseVariant(v)?.label ?? v).join(' | ')} |`,
    `| --- | ${variants.map(() => '---:').join(' | ')} |`,
    ...ROWS.map(([label, cell]) => `| ${label} | ${variants.map((v) => cell(byVariant(v))).join(' | ')} |`),
    '',
  ];
  const base = mine.find((r) => r.variant === 'baseline');
  if (base !== undefined && base.closed > 0) {
    out.push(
      `**What the baseline loses:** ${n(base.missing.total)} deliveries (${formatValue(base.missing.total / base.closed)} per client on average, at most ${n(base.missing.maxPerClient)}, ${n(base.missing.clients)} of ${n(base.closed)} clients affected${base.failed > 0 ? `; ${n(base.failed)} clients were not back within ${formatValue(st.reconnectTimeoutMs / 1000)} s and missed everything after T` : ''}): it keeps no history and ignores \`Last-Event-ID\`, so whatever was published while a client was away, or was still queued for it when it was closed, never reaches it, and nothing tells it so.`,
    );
    out.push('');
  }
  return out;
}
