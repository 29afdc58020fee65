// Publish throughput: autocannon against POST /publish?topic=... (no subscribers), per variant in a
// fresh server. Shows what sequencing costs on its own, and the server CPU per publish. Then the same
// against one server in cluster mode (SHARDS=1 on a fresh redis-server): what one Redis takes.
import { startRedisServer } from '../../test/support/redis-server.js';
import type { AutocannonReport, AutocannonRequest } from '../load/messages.js';
import { cpuSeconds, memory } from '../proc-stats.js';
import { ChildClient, track } from '../processes.js';
import { parseVariant, startServer, type Variant } from '../server-process.js';
import type { ScenarioContext } from './context.js';

/** The record's variant name for the cluster-mode run. */
export const CLUSTER_PUBLISH_VARIANT = 'uws-1-redis';

export async function runPublishThroughput(ctx: ScenarioContext): Promise<void> {
  const p = ctx.settings.publishThroughput;
  ctx.log(`publish-throughput: autocannon, ${p.connections} connections × pipelining ${p.pipelining}, ${p.payloadBytes} B bodies, ${p.seconds} s`);
  for (const variant of ctx.variants) await measure(ctx, variant, variant.name, {});
  const redis = await startRedisServer({ persist: false, onSpawn: track });
  try {
    await measure(ctx, { ...parseVariant('uws-1')!, label: 'uWS SHARDS=1 on Redis' }, CLUSTER_PUBLISH_VARIANT, { REDIS_URL: redis.url });
  } finally {
    await redis.stop();
  }
}

async function measure(ctx: ScenarioContext, variant: Variant, name: string, env: Record<string, string>): Promise<void> {
  const p = ctx.settings.publishThroughput;
  const tag = `publish-throughput ${variant.label}`;
  const server = await startServer(variant, env, ctx.settings.serverNodeFlags);
  const cannon = ChildClient.start<AutocannonRequest>('autocannon', './load/autocannon-process.js');
  try {
    const cpu0 = cpuSeconds(server.pid);
    const wall0 = performance.now();
    const r = await cannon.request<AutocannonReport>({
      type: 'autocannon',
      url: `http://${server.host}:${server.port}/publish?topic=bench`,
      body: 'x'.repeat(p.payloadBytes),
      connections: p.connections,
      pipelining: p.pipelining,
      seconds: p.seconds,
    });
    const cpu = cpuSeconds(server.pid) - cpu0;
    const wall = (performance.now() - wall0) / 1000;
    ctx.log(`${tag}: ${Math.round(r.requestsPerSecond).toLocaleString('en-US')} publishes/s (${r.accepted} accepted, ${r.non2xx} non-2xx, ${r.errors} errors), latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms, server ${cpu.toFixed(2)} CPU s (${((cpu * 1e6) / Math.max(1, r.accepted)).toFixed(2)} µs/publish), autocannon ${r.cpuSeconds.toFixed(2)} CPU s`);
    ctx.record({
      scenario: 'publish-throughput',
      variant: name,
      round: 0,
      serverSettings: server.settings,
      ...r,
      serverCpuSeconds: cpu,
      serverCores: cpu / wall,
      serverCpuMicrosPerPublish: r.accepted > 0 ? (cpu * 1e6) / r.accepted : 0,
      generatorCore: r.cpuSeconds / r.wallSeconds,
      peakRssMiB: memory(server.pid).hwm / 2 ** 20,
    });
  } finally {
    await cannon.stop();
    await server.stop();
  }
}
