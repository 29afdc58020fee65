// Durability: what the DATA_DIR log costs, against memory only (DATA_DIR=), in the same run. uWS with
// SHARDS=1, each server a fresh process on a fresh directory under a temporary one:
// 1. the fan-out load (fan-out.ts) with DURABILITY=write and memory only, both servers loaded side
//    by side and short measured phases alternating between them;
// 2. publishes/s with autocannon (publish-throughput.ts), pipelined (memory, write) and one at a time
//    on many connections (memory, write, fsync: fsync cannot pipeline), in many short rounds with the
//    order alternating between servers that run side by side, and the log's fdatasyncs over each run
//    (sse_event_log_fsyncs_total);
// 3. a log of `events` events written beforehand (bench/load/quiet-log.ts): disk bytes per event,
//    start-up time and RSS with it (its tail in memory, the rest read from disk; then all of it in
//    memory), and a quiet topic's resume across all those events, several times per server.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sumMetric } from '../../test/support/metrics-text.js';
import type { LoadRun } from '../load/load-run.js';
import { timeQuietResume, writeQuietLog } from '../load/quiet-log.js';
import { memory } from '../proc-stats.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import { roundOrder, type ScenarioContext } from './context.js';
import { measureFanOut, startFanOut } from './fan-out.js';
import { autocannon, describePublishLoad, publishLoad } from './publish-throughput.js';

export const SCENARIO = 'durability';
export type DurabilityMode = 'memory' | 'write' | 'fsync';
/** how the history is held at start-up: none (an empty memory-only server), the log's tail in memory, or all of it */
export type StartMode = 'empty' | 'log-tail-in-memory' | 'log-all-in-memory';

const SERVER = parseVariant('uws-1')!;
/** the start of a server that recovers 1,000,000 events took 7 s by hand on this machine: room for a busy one */
const RECOVERY_START_TIMEOUT_MS = 120_000;

export async function runDurability(ctx: ScenarioContext): Promise<void> {
  const d = ctx.settings.durability;
  const dir = mkdtempSync(join(tmpdir(), 'bench-durability-'));
  ctx.log(`durability: fan-out × ${d.fanOutRounds} round(s) of ${d.fanOutSeconds} s, publishes × ${d.publishRounds} rounds of ${d.publishSeconds} s, start-up and ${d.resumes} quiet-topic resumes with ${d.events.toLocaleString('en-US')} events; logs in ${dir}`);
  let runs = 0;
  const env = (mode: DurabilityMode): Record<string, string> => (mode === 'memory' ? { DATA_DIR: '' } : { DATA_DIR: join(dir, `${mode}-${++runs}`), DURABILITY: mode });
  try {
    await fanOutRounds(ctx, env);
    await publishRounds(ctx, env);
    await logRuns(ctx, join(dir, 'retained'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** As the publish runs below: both servers loaded side by side, the measured phases alternating between them. */
async function fanOutRounds(ctx: ScenarioContext, env: (mode: DurabilityMode) => Record<string, string>): Promise<void> {
  const d = ctx.settings.durability;
  const shape = { ...ctx.settings.fanOut, seconds: d.fanOutSeconds };
  const loaded = new Map<DurabilityMode, { server: RunningServer; run?: LoadRun }>();
  try {
    for (const mode of ['memory', 'write'] as const) {
      const server = await startServer(SERVER, env(mode), ctx.settings.serverNodeFlags);
      const slot: { server: RunningServer; run?: LoadRun } = { server };
      loaded.set(mode, slot);
      slot.run = await startFanOut(ctx, `durability fan-out ${mode}`, server, shape);
    }
    for (let round = 0; round < d.fanOutRounds; round++) {
      for (const mode of roundOrder(['memory', 'write'] as const, round)) {
        const { server, run } = loaded.get(mode)!;
        const measured = await measureFanOut(ctx, `durability fan-out ${round + 1}/${d.fanOutRounds} ${mode}`, run!, server, shape);
        ctx.record({ scenario: SCENARIO, measure: 'fan-out', variant: mode, round, ...measured });
      }
    }
  } finally {
    for (const { server, run } of loaded.values()) {
      await run?.stop();
      await server.stop();
    }
  }
}

async function fsyncs(server: RunningServer): Promise<number> {
  return sumMetric(await (await fetch(`http://${server.host}:${server.port}/metrics`)).text(), 'sse_event_log_fsyncs_total');
}

/**
 * Every mode's server runs for the whole section, idle but for its turn: short runs alternate between
 * them, so each round's modes are measured seconds apart and a burst from another tenant of the
 * machine hits one round, not one mode. The ratios are taken per round (paired), then the median.
 */
async function publishRounds(ctx: ScenarioContext, env: (mode: DurabilityMode) => Record<string, string>): Promise<void> {
  const d = ctx.settings.durability;
  const p = ctx.settings.publishThroughput;
  const loads = [
    { measure: 'pipelined', connections: p.connections, pipelining: p.pipelined, modes: ['memory', 'write'] as const },
    { measure: 'concurrent', connections: d.concurrentConnections, pipelining: 1, modes: ['memory', 'write', 'fsync'] as const },
  ];
  const servers = new Map<DurabilityMode, RunningServer>();
  const cannon = autocannon();
  try {
    for (const mode of ['memory', 'write', 'fsync'] as const) servers.set(mode, await startServer(SERVER, env(mode), ctx.settings.serverNodeFlags));
    for (const load of loads) {
      for (let round = 0; round < d.publishRounds; round++) {
        for (const mode of roundOrder(load.modes, round)) {
          const server = servers.get(mode)!;
          const before = await fsyncs(server);
          const r = await publishLoad(server, load, d.publishSeconds, d.payloadBytes, cannon);
          const synced = (await fsyncs(server)) - before;
          ctx.log(`durability ${load.measure} ${round + 1}/${d.publishRounds} ${mode}: ${describePublishLoad(r)}; ${synced} fdatasyncs`);
          ctx.record({
            scenario: SCENARIO,
            measure: load.measure,
            variant: mode,
            round,
            connections: load.connections,
            pipelining: load.pipelining,
            ...r,
            fsyncs: synced,
            fsyncsPerSecond: synced / r.wallSeconds,
            publishesPerFsync: synced > 0 ? r.accepted / synced : null,
          });
        }
      }
    }
  } finally {
    await cannon.stop();
    await Promise.all([...servers.values()].map((s) => s.stop()));
  }
}

async function logRuns(ctx: ScenarioContext, dir: string): Promise<void> {
  const d = ctx.settings.durability;
  const written = performance.now();
  const log = writeQuietLog(dir, d.events, d.payloadBytes);
  const diskBytesPerEvent = log.diskBytes / d.events;
  const sseBytesPerEvent = log.sseBytes / d.events;
  ctx.log(`durability: wrote ${d.events.toLocaleString('en-US')} events in ${((performance.now() - written) / 1000).toFixed(1)} s: ${diskBytesPerEvent.toFixed(1)} bytes on disk per event against ${sseBytesPerEvent.toFixed(1)} SSE bytes`);
  ctx.record({ scenario: SCENARIO, measure: 'disk', variant: 'write', round: 0, events: d.events, payloadBytes: d.payloadBytes, diskBytes: log.diskBytes, sseBytes: log.sseBytes, diskBytesPerEvent, sseBytesPerEvent });

  // the default HISTORY_MEMORY_SIZE is a tenth of the full run's events: the same share at every scale
  const tail = String(Math.max(1, Math.floor(d.events / 10)));
  const starts: Record<StartMode, Record<string, string>> = {
    empty: { DATA_DIR: '' },
    'log-tail-in-memory': { DATA_DIR: dir, HISTORY_SIZE: String(d.events), HISTORY_MEMORY_SIZE: tail },
    'log-all-in-memory': { DATA_DIR: dir, HISTORY_SIZE: String(d.events), HISTORY_MEMORY_SIZE: String(d.events) },
  };
  const { rounds } = ctx.settings;
  for (let round = 0; round < rounds; round++) {
    for (const mode of roundOrder(Object.keys(starts) as StartMode[], round)) {
      const t0 = performance.now();
      const server = await startServer(SERVER, starts[mode], ctx.settings.serverNodeFlags, { startTimeoutMs: RECOVERY_START_TIMEOUT_MS });
      try {
        const startMs = performance.now() - t0;
        const rssMiB = memory(server.pid).rss / 2 ** 20;
        const resumeMs: number[] = [];
        if (mode !== 'empty') for (let i = 0; i < d.resumes; i++) resumeMs.push(await timeQuietResume(server.port, ...log.quietIds));
        ctx.log(`durability start-up ${round + 1}/${rounds} ${mode}: ${Math.round(startMs)} ms to listening, ${rssMiB.toFixed(0)} MiB RSS${resumeMs.length > 0 ? `; quiet-topic resumes ${resumeMs.map((t) => t.toFixed(1)).join(', ')} ms` : ''}`);
        ctx.record({ scenario: SCENARIO, measure: 'start-up', variant: mode, round, events: mode === 'empty' ? 0 : d.events, historyMemorySize: starts[mode]['HISTORY_MEMORY_SIZE'] ?? null, startMs, rssMiB, resumeMs });
      } finally {
        await server.stop();
      }
    }
  }
}
