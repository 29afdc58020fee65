// Deploying a new server under load, three ways, with the same load each time (bench/load/handover-run.ts):
// - handover: a second server started on the same DATA_DIR and PORT takes the log over; the old one
//   refuses publishes (503), hands over, stops listening, drains its streams over DRAIN_MS, exits 0;
// - restart: SIGTERM, wait for the exit, start a new server on the same DATA_DIR (the durable log);
// - memory-restart: the same with DATA_DIR= (memory only): the new server has a new history.
// Each in fresh server processes on a fresh port and a fresh data directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/support/free-port.js';
import { describeHandover, handoverPhase, type Replacement } from '../load/handover-run.js';
import { LoadRun } from '../load/load-run.js';
import { nowUs } from '../load/messages.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import type { HandoverVariant } from '../settings.js';
import type { ScenarioContext } from './context.js';

export const HANDOVER_LABELS: Record<HandoverVariant, string> = {
  handover: 'handover (same DATA_DIR and PORT)',
  restart: 'restart on the durable log',
  'memory-restart': 'restart, memory only (DATA_DIR=)',
};

/** Replaces `old` the variant's way; `start` starts a server with the same settings. */
async function replace(variant: HandoverVariant, old: RunningServer, start: (spawned?: (pid: number) => void) => Promise<RunningServer>, spawned: (pid: number) => void): Promise<Replacement> {
  const t = nowUs();
  const since = (): number => (nowUs() - t) / 1000;
  let oldExitMs = NaN;
  const oldExit = old.exited.then((e) => {
    oldExitMs = since();
    return e;
  });
  // a restart: SIGTERM (the old server drains over DRAIN_MS), its exit, then the new one
  if (variant !== 'handover') await old.stop();
  await start(spawned);
  const newListeningMs = since();
  return { newListeningMs, oldExit: await oldExit, oldExitMs };
}

export async function runHandover(ctx: ScenarioContext): Promise<void> {
  const h = ctx.settings.handover;
  ctx.log(
    `handover: ${h.subscribers.toLocaleString('en-US')} reconnecting subscribers, ${h.rate} events/s × ${h.payloadBytes} B with an Idempotency-Key each (refusals retried), ` +
      `the server replaced ${h.atSeconds} s in, publishing on until ${h.afterSeconds} s after the replacement; SHARDS=${h.shards}, DRAIN_MS=${h.drainMs}: ${h.variants.join(', ')}`,
  );
  const uws = parseVariant(`uws-${h.shards}`)!;
  for (const variant of h.variants) {
    const tag = `handover ${variant}`;
    const dir = mkdtempSync(join(tmpdir(), 'bench-handover-'));
    const env = {
      PORT: String(await freePort()),
      DATA_DIR: variant === 'memory-restart' ? '' : dir,
      DRAIN_MS: String(h.drainMs),
      RETRY_MS: String(h.reconnectMs),
    };
    const servers: RunningServer[] = [];
    const start = async (spawned?: (pid: number) => void): Promise<RunningServer> => {
      const s = await startServer(uws, env, ctx.settings.serverNodeFlags, { onSpawn: spawned });
      servers.push(s);
      return s;
    };
    let run: LoadRun | undefined;
    try {
      const old = await start();
      run = await LoadRun.start(old, old.pid, h.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
      const result = await handoverPhase(run, old, old.pid, h, (spawned) => replace(variant, old, start, spawned), (l) => ctx.log(`${tag}: ${l}`));
      ctx.log(`${tag}: ${describeHandover(result)}`);
      // both processes' timestamped handover steps: where the refused window went
      const steps = servers.flatMap((s) => [...s.output().matchAll(/^handover ([\d.]+): (.*)$/gm)].map((m) => [Number(m[1]), `pid ${s.pid}: ${m[2]}`] as const));
      for (const [at, what] of steps.sort((a, b) => a[0] - b[0])) ctx.log(`${tag}: +${(at - steps[0]![0]).toFixed(1)} ms ${what}`);
      ctx.record({ scenario: 'handover', variant, round: 0, connect: run.connect, serverSettings: servers[1]?.settings, ...result });
    } finally {
      await run?.stop();
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
