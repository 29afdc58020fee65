// Publish throughput: autocannon against POST /publish?topic=... (no subscribers), per variant in a
// fresh server, for `rounds` rounds (medians) with the variant order alternating, and a bare uWS app
// as the floor. Shows what sequencing costs on its own, and the server CPU per publish; then again
// with HTTP/1.1 pipelining (scenario `publish-pipelined`), where one read and one write carry many
// publishes. Then one server in cluster mode (SHARDS=1 on a fresh redis-server): what one Redis
// takes, with the same connections and with many (cluster publishes cannot be pipelined: uWS closes
// a connection that pipelines while an answer waits for Redis).
import { startRedisServer } from '../../test/support/redis-server.js';
import type { AutocannonReport, AutocannonRequest } from '../load/messages.js';
import { cpuSeconds, memory } from '../proc-stats.js';
import { ChildClient, track } from '../processes.js';
import { parseVariant, startServer, type RunningServer, type Variant } from '../server-process.js';
import { roundOrder, type ScenarioContext } from './context.js';

/** The records' variant names for the cluster-mode runs: the same connections, then many. */
export const CLUSTER_PUBLISH_VARIANTS = ['uws-1-redis', 'uws-1-redis-many'] as const;

/** A bare uWS app: what a request costs before any work of ours (bench/baseline/uws-floor.ts). */
const FLOOR = parseVariant('floor')!;

interface Load {
  scenario: 'publish-throughput' | 'publish-pipelined';
  connections: number;
  pipelining: number;
}

export async function runPublishThroughput(ctx: ScenarioContext): Promise<void> {
  const p = ctx.settings.publishThroughput;
  const { rounds } = ctx.settings;
  ctx.log(`publish-throughput: autocannon, ${p.connections} connections × pipelining ${p.pipelining}, then × ${p.pipelined}; ${p.payloadBytes} B bodies, ${p.seconds} s, ${rounds} round(s)`);
  const plain: Load = { scenario: 'publish-throughput', connections: p.connections, pipelining: p.pipelining };
  const pipelined: Load = { scenario: 'publish-pipelined', connections: p.connections, pipelining: p.pipelined };
  const variant = parseVariant('uws-1')!;
  for (let round = 0; round < rounds; round++) {
    for (const load of [plain, pipelined]) for (const v of [...roundOrder(ctx.variants, round), FLOOR]) await measure(ctx, v, v.name, {}, load, round);
    const redis = await startRedisServer({ persist: false, onSpawn: track });
    try {
      await measure(ctx, { ...variant, label: 'uWS SHARDS=1 on Redis' }, CLUSTER_PUBLISH_VARIANTS[0], { REDIS_URL: redis.url }, plain, round);
      const many = { ...plain, connections: p.clusterConnections };
      await measure(ctx, { ...variant, label: `uWS SHARDS=1 on Redis, ${p.clusterConnections} connections` }, CLUSTER_PUBLISH_VARIANTS[1], { REDIS_URL: redis.url }, many, round);
    } finally {
      await redis.stop();
    }
  }
}

async function measure(ctx: ScenarioContext, variant: Variant, name: string, env: Record<string, string>, load: Load, round: number): Promise<void> {
  const p = ctx.settings.publishThroughput;
  const server = await startServer(variant, env, ctx.settings.serverNodeFlags);
  try {
    const r = await publishLoad(server, load, p.seconds, p.payloadBytes);
    ctx.log(`${load.scenario} ${variant.label}: ${describePublishLoad(r)}`);
    ctx.record({ scenario: load.scenario, variant: name, round, connections: load.connections, pipelining: load.pipelining, serverSettings: server.settings, ...r });
  } finally {
    await server.stop();
  }
}

export type PublishLoadResult = AutocannonReport & {
  serverCpuSeconds: number;
  serverCores: number;
  serverCpuMicrosPerPublish: number;
  generatorCore: number;
  generatorCpuMicrosPerPublish: number;
  peakRssMiB: number;
};

/** The autocannon process: one per run, or one for many runs. */
export function autocannon(): ChildClient<AutocannonRequest> {
  return ChildClient.start<AutocannonRequest>('autocannon', './load/autocannon-process.js');
}

/**
 * autocannon against POST /publish on a running server for `seconds`, with the server's CPU over the
 * run; in a process of its own unless `shared` is given.
 */
export async function publishLoad(server: RunningServer, load: { connections: number; pipelining: number }, seconds: number, payloadBytes: number, shared?: ChildClient<AutocannonRequest>): Promise<PublishLoadResult> {
  const cannon = shared ?? autocannon();
  try {
    const cpu0 = cpuSeconds(server.pid);
    const wall0 = performance.now();
    const r = await cannon.request<AutocannonReport>({
      type: 'autocannon',
      url: `http://${server.host}:${server.port}/publish?topic=bench`,
      body: 'x'.repeat(payloadBytes),
      connections: load.connections,
      pipelining: load.pipelining,
      seconds,
    });
    const cpu = cpuSeconds(server.pid) - cpu0;
    const wall = (performance.now() - wall0) / 1000;
    return {
      ...r,
      serverCpuSeconds: cpu,
      serverCores: cpu / wall,
      serverCpuMicrosPerPublish: r.accepted > 0 ? (cpu * 1e6) / r.accepted : 0,
      generatorCore: r.cpuSeconds / r.wallSeconds,
      // what autocannon itself spends per publish: with the server on the same cores, it bounds the rate
      generatorCpuMicrosPerPublish: r.accepted > 0 ? (r.cpuSeconds * 1e6) / r.accepted : 0,
      peakRssMiB: memory(server.pid).hwm / 2 ** 20,
    };
  } finally {
    if (shared === undefined) await cannon.stop();
  }
}

export function describePublishLoad(r: PublishLoadResult): string {
  return `${Math.round(r.requestsPerSecond).toLocaleString('en-US')} publishes/s (${r.accepted} accepted, ${r.non2xx} non-2xx, ${r.errors} errors), latency p50 ${r.latencyMs.p50} ms p99 ${r.latencyMs.p99} ms, server ${r.serverCpuSeconds.toFixed(2)} CPU s (${r.serverCpuMicrosPerPublish.toFixed(2)} µs/publish), autocannon ${r.cpuSeconds.toFixed(2)} CPU s`;
}
