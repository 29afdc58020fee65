// Idle memory: the RSS a server needs per open but idle SSE connection. A fresh server, its RSS once
// it is listening, then N connections (no events), a pause for the allocations to settle, and its RSS
// again: (after - before) / N. The whole process is measured, worker-thread shards included.
import { LoadRun, type LoadOptions } from '../load/load-run.js';
import { memory } from '../proc-stats.js';
import { startServer, type RunningServer } from '../server-process.js';
import type { BenchSettings } from '../settings.js';
import type { ScenarioContext } from './context.js';

export interface IdleMeasure {
  connections: number;
  failed: number;
  connectSeconds: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  peakRssMiB: number;
  rssPerConnectionKiB: number;
}

/** Opens `connections` idle streams to a server started just before, and measures its RSS per stream. */
export async function measureIdle(server: RunningServer, connections: number, settleMs: number, settings: Readonly<BenchSettings>, log: (line: string) => void, opts: LoadOptions = {}): Promise<IdleMeasure> {
  let run: LoadRun | undefined;
  try {
    await new Promise((r) => setTimeout(r, 300)); // let start-up allocations settle too
    const before = memory(server.pid).rss;
    run = await LoadRun.start(server, server.pid, connections, settings, { ...opts, onProgress: log });
    await new Promise((r) => setTimeout(r, settleMs));
    const after = memory(server.pid);
    const open = run.connect.connected;
    const perConnection = open > 0 ? (after.rss - before) / open : 0;
    log(`RSS ${(before / 2 ** 20).toFixed(1)} MiB -> ${(after.rss / 2 ** 20).toFixed(1)} MiB for ${open} connections: ${(perConnection / 1024).toFixed(2)} KiB per connection`);
    return {
      connections: open,
      failed: run.connect.failed,
      connectSeconds: run.connect.seconds,
      rssBeforeMiB: before / 2 ** 20,
      rssAfterMiB: after.rss / 2 ** 20,
      peakRssMiB: after.hwm / 2 ** 20,
      rssPerConnectionKiB: perConnection / 1024,
    };
  } finally {
    await run?.stop();
  }
}

export async function runIdleMemory(ctx: ScenarioContext): Promise<void> {
  const { connections, settleMs } = ctx.settings.idleMemory;
  ctx.log(`idle-memory: ${connections.toLocaleString('en-US')} idle connections per variant`);
  for (const variant of ctx.variants) {
    const server = await startServer(variant, {}, ctx.settings.serverNodeFlags);
    try {
      const m = await measureIdle(server, connections, settleMs, ctx.settings, (l) => ctx.log(`idle-memory ${variant.label}: ${l}`));
      ctx.record({ scenario: 'idle-memory', variant: variant.name, round: 0, serverSettings: server.settings, ...m });
    } finally {
      await server.stop();
    }
  }
}
