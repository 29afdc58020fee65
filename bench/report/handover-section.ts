// The "Replacing the server under load" section of results/latest.md: one column per way of replacing
// it (handover, restart on the durable log, memory-only restart), from the handover records, and the
// handover's targets.
import type { HandoverResult } from '../load/handover-run.js';
import type { RunRecord } from '../scenarios/context.js';
import { HANDOVER_LABELS } from '../scenarios/handover.js';
import type { BenchSettings, HandoverVariant } from '../settings.js';
import { formatValue } from './markdown.js';
import type { TargetCheck } from './summarise.js';

type Handover = RunRecord & HandoverResult;

/** The refused window a handover must stay under (ms). */
export const REFUSED_WINDOW_TARGET_MS = 50;

const n = (x: number): string => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a');
const ms = (x: number): string => formatValue(x);
const cores = (x: number): string => x.toFixed(2);

const ROWS: Array<[string, (r: Handover) => string]> = [
  ['**subscribers back** / closed by the server (never back)', (r) => `${n(r.clientsBack)} / ${n(r.clientsClosed)} (${n(r.clientsAway)})`],
  ['reconnect attempts that failed (why)', (r) => `${n(r.failedAttempts)}${r.failedAttempts > 0 ? ` (${Object.entries(r.failures).map(([k, v]) => `${k}: ${n(v)}`).join(', ')})` : ''}`],
  ['from T until all are back (ms)', (r) => ms(r.allBackMs)],
  ['per reconnect, closed to back: p50 / p99 (ms)', (r) => `${ms(r.awayMs.p50)} / ${ms(r.awayMs.p99)}`],
  ['**missing deliveries**, summed over clients (clients affected)', (r) => `${n(r.missing.total)} (${n(r.missing.clients)})`],
  ['**duplicate deliveries** (clients affected)', (r) => `${n(r.duplicates.total)} (${n(r.duplicates.clients)})`],
  ['**reset frames** (clients)', (r) => `${n(r.resets.total)} (${n(r.resets.clients)})`],
  ['order violations', (r) => n(r.orderViolations)],
  ['publishes accepted / due at the rate (never accepted)', (r) => `${n(r.published.accepted)} / ${n(r.published.target)} (${n(r.published.notAccepted)})`],
  ['publish answered (202) within: p50 / p99 (ms)', (r) => `${ms(r.publishResponseMs.p50)} / ${ms(r.publishResponseMs.p99)}`],
  ['refused publishes: 503 / connection lost / connect refused (retries)', (r) => `${n(r.publishing.refused)} / ${n(r.publishing.connectionLost)} / ${n(r.publishing.connectFailures)} (${n(r.publishing.retries)})`],
  ['**refused window**: first refusal to the first 202 after it (ms)', (r) => ms(r.refusedWindowMs)],
  ['longest time without a 202 (ms)', (r) => ms(r.longestGapMs)],
  ['catch-up deliveries (published before the client was back)', (r) => n(r.catchUpMs.samples)],
  ['**catch-up latency** (publish to receipt): p50 / p99 (ms)', (r) => (r.catchUpMs.samples > 0 ? `${ms(r.catchUpMs.p50)} / ${ms(r.catchUpMs.p99)}` : '—')],
  ['from T until all are back and caught up (ms)', (r) => ms(r.allCaughtUpMs)],
  ['delivery latency over the run: p50 / p99 (ms)', (r) => `${ms(r.latencyMs.p50)} / ${ms(r.latencyMs.p99)}`],
  ['new server listening / old process exited, after T (ms)', (r) => `${ms(r.replacement.newListeningMs)} / ${ms(r.replacement.oldExitMs)}`],
  ['**old process exit code**', (r) => String(r.replacement.oldExit.signal ?? r.replacement.oldExit.code)],
  ['**server CPU in the second after T**: old + new (cores)', (r) => `${cores(r.cpu.oldServerCores)} + ${cores(r.cpu.newServerCores)} = ${cores(r.cpu.serverCores)}`],
  ['server CPU in the second before T (cores)', (r) => cores(r.steadyCpu.serverCores)],
  ['server CPU from T until all are back and caught up: old + new (cores; CPU s)', (r) => `${cores(r.switchCpu.oldServerCores)} + ${cores(r.switchCpu.newServerCores)} (${(r.switchCpu.serverCores * r.switchCpu.windowSeconds).toFixed(2)} s over ${formatValue(r.switchCpu.windowSeconds)} s)`],
  ['generator CPU in the second after T / before (cores)', (r) => `${cores(r.cpu.generatorCores)} / ${cores(r.steadyCpu.generatorCores)}`],
  ['machine busy in the second after T, all tenants (%)', (r) => n(r.cpu.machineBusy * 100)],
];

function records(runs: RunRecord[]): Handover[] {
  return runs.filter((r) => r.scenario === 'handover') as Handover[];
}

export function renderHandover(runs: RunRecord[], settings: BenchSettings): string[] {
  const mine = records(runs);
  if (mine.length === 0) return [];
  const h = settings.handover;
  const variants = h.variants.filter((v) => mine.some((r) => r.variant === v));
  const byVariant = (v: HandoverVariant): Handover => mine.find((r) => r.variant === v)!;
  return [
    '## Replacing the server under load',
    '',
    `${n(h.subscribers)} subscribers on one topic that follow their server as a browser's EventSource does (a closed stream is reopened ${h.reconnectMs} ms later with \`Last-Event-ID\`, and again after every failed attempt; the servers' RETRY_MS is the same), ` +
      `${n(h.rate)} events/s × ${h.payloadBytes} B, each with an \`Idempotency-Key\`: a 503 or a connection lost before the answer is sent again with the same key ${h.publishRetryMs} ms later, and a closed publisher connection is replaced. ` +
      `At T (${h.atSeconds} s in) the server (SHARDS=${h.shards}, DRAIN_MS=${h.drainMs}) is replaced, and publishing goes on until ${h.afterSeconds} s after the new server listens and the old one has exited. ` +
      `**handover**: a second server started on the same DATA_DIR and PORT; **restart**: SIGTERM, its exit, then a new server on the same DATA_DIR; **memory only**: the same with DATA_DIR=. One round each, fresh processes, port and directory. ` +
      `Missing and duplicate deliveries are counted per client over the whole run (every accepted event is due to every client; a duplicate is one payload delivered twice, as a retry published twice would be). ` +
      `Catch-up deliveries are the events a reconnected stream received that had been published before its head arrived: what the client missed while it was away. A retried publish keeps its first send time, so its latency includes the refusal. ` +
      `Server CPU is both server processes (every thread, from /proc every 50 ms; the new one from its start); the generator shares the cores.`,
    '',
    `| figure | ${variants.map((v) => HANDOVER_LABELS[v]).join(' | ')} |`,
    `| --- | ${variants.map(() => '---:').join(' | ')} |`,
    ...ROWS.map(([label, cell]) => `| ${label} | ${variants.map((v) => cell(byVariant(v))).join(' | ')} |`),
    '',
  ];
}

/** A handover nobody notices: nothing missing, duplicated or reset, publishes refused for under 50 ms. */
export function checkHandoverTargets(runs: RunRecord[]): TargetCheck[] {
  const r = records(runs).find((x) => x.variant === 'handover');
  const lossless = 'Handover: 0 missing, 0 duplicate deliveries, 0 reset frames, every subscriber back, the old process exits 0';
  const window = `Handover: publishes refused for < ${REFUSED_WINDOW_TARGET_MS} ms (first refusal to the first 202 after it)`;
  if (r === undefined) return [lossless, window].map((target) => ({ target, met: undefined, detail: 'not measured in this run' }));
  const exit = r.replacement.oldExit.signal ?? r.replacement.oldExit.code;
  return [
    {
      target: lossless,
      met: r.missing.total === 0 && r.duplicates.total === 0 && r.resets.total === 0 && r.clientsAway === 0 && exit === 0,
      detail: `${n(r.missing.total)} missing, ${n(r.duplicates.total)} duplicates, ${n(r.resets.total)} resets, ${n(r.clientsBack)}/${n(r.clientsClosed)} back, exit ${String(exit)}, over ${n(r.subscribers)} subscribers and ${n(r.published.accepted)} events.`,
    },
    {
      target: window,
      met: Number.isFinite(r.refusedWindowMs) && r.refusedWindowMs < REFUSED_WINDOW_TARGET_MS,
      detail: `${ms(r.refusedWindowMs)} ms (SHARDS=${r.settings.shards}): ${n(r.publishing.refused)} publishes answered 503, ${n(r.publishing.connectionLost)} lost with their connection; the new server listened ${ms(r.replacement.newListeningMs)} ms after it was started.`,
    },
  ];
}
