// Compression: what encode-once gzip costs and saves end to end, beside what per-connection
// compression costs. The same subscribers (BENCH_COMPRESSION_SUBSCRIBERS on one topic) get the JSON
// ticker at each rate in turn, per variant, each in a fresh server process:
// - identity: this server with COMPRESSION=off, clients that do not ask for gzip;
// - gzip: COMPRESSION=gzip, clients that send Accept-Encoding: gzip (one deflate context per group);
// - baseline-gzip: the node:http baseline with BASELINE_GZIP=1 (one zlib stream per response);
// - nginx-gzip: this server (COMPRESSION=off) behind the shipped nginx.conf with `gzip on` for event
//   streams (one deflate context per connection, in nginx); the publisher talks to the server directly,
//   the subscribers to nginx, and the server CPU adds nginx's master and workers.
// The generator decodes every gzip stream read by read, so latency and order are of the decoded
// events, and counts the bytes it reads before decoding: the wire bytes. Then, for the two uWS
// variants, the RSS per idle connection, as in the idle-memory scenario.
import { describePhase, LoadRun } from '../load/load-run.js';
import type { Target } from '../load/messages.js';
import { descendants } from '../proc-stats.js';
import { track } from '../processes.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import type { CompressionVariant } from '../settings.js';
import { sumMetric } from '../../test/support/metrics-text.js';
import { startNginx, type TestNginx } from '../../test/support/nginx.js';
import { roundOrder, type ScenarioContext } from './context.js';
import { measureIdle } from './idle-memory.js';

export const COMPRESSION_LABELS: Record<CompressionVariant, string> = {
  identity: 'uWS, identity (COMPRESSION=off)',
  gzip: 'uWS, encode-once gzip (COMPRESSION=gzip)',
  'baseline-gzip': 'node:http, gzip per response',
  'nginx-gzip': 'uWS behind nginx `gzip on` (per connection)',
};

/** The uWS server's fan-out segment counters (summed over shards), from its /metrics. */
async function fanoutSegments(server: RunningServer): Promise<{ seconds: number; count: number }> {
  const text = await (await fetch(`http://${server.host}:${server.port}/metrics`)).text();
  return { seconds: sumMetric(text, 'sse_fanout_segment_seconds_total'), count: sumMetric(text, 'sse_fanout_segments_total') };
}

/** the variants whose clients ask for gzip */
const asksGzip = (v: CompressionVariant): boolean => v !== 'identity';

interface Setup {
  server: RunningServer;
  subscribeTo: Target;
  /** measured together: the server, and nginx's master and workers */
  pids: number[];
  stop(): Promise<void>;
}

/** nginx's master and its workers, once the master has forked them all (it listens before it forks). */
async function nginxProcesses(master: number): Promise<number[]> {
  let last = '';
  for (let i = 0; i < 50; i++) {
    const workers = descendants(master);
    if (workers.length > 0 && workers.join() === last) return [master, ...workers];
    last = workers.join();
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nginx (pid ${master}) did not settle on a set of worker processes`);
}

async function startVariant(v: CompressionVariant, nodeFlags: string[]): Promise<Setup> {
  const server = v === 'baseline-gzip' ? await startServer(parseVariant('baseline')!, { BASELINE_GZIP: '1' }, nodeFlags) : await startServer(parseVariant('uws-1')!, { COMPRESSION: v === 'gzip' ? 'gzip' : 'off' }, nodeFlags);
  let nginx: TestNginx | undefined;
  try {
    nginx = v === 'nginx-gzip' ? await startNginx(server.port, { gzip: true, onSpawn: track }) : undefined;
    const proxy = nginx;
    return {
      server,
      subscribeTo: proxy ? { host: '127.0.0.1', port: proxy.port } : server,
      pids: proxy ? [server.pid, ...(await nginxProcesses(proxy.proc.pid!))] : [server.pid],
      async stop() {
        await proxy?.stop();
        await server.stop();
      },
    };
  } catch (err) {
    await nginx?.stop();
    await server.stop();
    throw err;
  }
}

export async function runCompression(ctx: ScenarioContext): Promise<void> {
  const c = ctx.settings.compression;
  ctx.log(
    `compression: ${c.subscribers.toLocaleString('en-US')} subscribers × JSON ticker at ${c.rates.join(', ')} events/s, ${c.seconds} s each, ` +
      `variants ${c.variants.join(', ')}, then ${c.idleConnections.toLocaleString('en-US')} idle connections per uWS variant; ${c.rounds} round(s)`,
  );
  for (let round = 0; round < c.rounds; round++) {
    const order = roundOrder(c.variants, round);
    for (const variant of order) await loadVariant(ctx, variant, round);
    for (const variant of order.filter((v) => v === 'identity' || v === 'gzip')) await idleVariant(ctx, variant, round);
  }
}

async function loadVariant(ctx: ScenarioContext, variant: CompressionVariant, round: number): Promise<void> {
  const c = ctx.settings.compression;
  const tag = `compression ${round + 1}/${c.rounds} ${variant}`;
  const setup = await startVariant(variant, ctx.settings.serverNodeFlags);
  let run: LoadRun | undefined;
  try {
    run = await LoadRun.start(setup.subscribeTo, setup.pids, c.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`), publishTo: setup.server, acceptGzip: asksGzip(variant) });
    for (const rate of c.rates) {
      if (c.warmupSeconds > 0) await run.phase(rate, c.warmupSeconds, 'ticker');
      // the server's own share of the latency: how long writing one segment of a pass takes (uWS only)
      const uws = variant !== 'baseline-gzip';
      const before = uws ? await fanoutSegments(setup.server) : undefined;
      const result = await run.phase(rate, c.seconds, 'ticker');
      const after = before ? await fanoutSegments(setup.server) : undefined;
      const segmentMs = before && after && after.count > before.count ? ((after.seconds - before.seconds) / (after.count - before.count)) * 1000 : NaN;
      const wire = result.received > 0 ? result.wireBytes / result.received : NaN;
      ctx.log(`${tag} @ ${rate}/s: ${wire.toFixed(1)} wire B per delivery, ${segmentMs.toFixed(2)} ms per fan-out segment, ${describePhase(result)}`);
      ctx.record({ scenario: 'compression', variant, round, measure: 'load', processes: setup.pids.length, connect: run.connect, serverSettings: setup.server.settings, wireBytesPerDelivery: wire, segmentMs, ...result });
    }
  } finally {
    await run?.stop();
    await setup.stop();
  }
}

async function idleVariant(ctx: ScenarioContext, variant: CompressionVariant, round: number): Promise<void> {
  const c = ctx.settings.compression;
  const server = await startServer(parseVariant('uws-1')!, { COMPRESSION: variant === 'gzip' ? 'gzip' : 'off' }, ctx.settings.serverNodeFlags);
  try {
    const m = await measureIdle(server, c.idleConnections, c.idleSettleMs, ctx.settings, (l) => ctx.log(`compression ${round + 1}/${c.rounds} ${variant} idle: ${l}`), { acceptGzip: asksGzip(variant) });
    ctx.record({ scenario: 'compression', variant, round, measure: 'idle', serverSettings: server.settings, ...m });
  } finally {
    await server.stop();
  }
}
