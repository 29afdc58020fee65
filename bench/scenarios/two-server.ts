// Cluster mode: the fan-out load against one server, one server on Redis, and two servers
// on one Redis with the subscribers spread over both and every event published through the first.
// The first two rows tell what Redis adds; the third, what a second server costs and gives.
import { describePhase, LoadRun } from '../load/load-run.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server.js';
import { track } from '../processes.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import { roundOrder, type ScenarioContext } from './context.js';

export const TWO_SERVER_VARIANTS = [
  { name: 'single', label: 'one server (SHARDS=1)', servers: 1, redis: false },
  { name: 'single-redis', label: 'one server on Redis', servers: 1, redis: true },
  { name: 'two-servers-redis', label: 'two servers on one Redis', servers: 2, redis: true },
] as const;

export async function runTwoServer(ctx: ScenarioContext): Promise<void> {
  const { rounds, fanOut: shape } = ctx.settings;
  ctx.log(`two-server: ${shape.subscribers.toLocaleString('en-US')} subscribers × ${shape.rate} events/s × ${shape.payloadBytes} B for ${shape.seconds} s, ${rounds} round(s)`);
  const uws = parseVariant('uws-1')!;
  for (let round = 0; round < rounds; round++) {
    const order = roundOrder(TWO_SERVER_VARIANTS, round);
    for (const variant of order) {
      const tag = `two-server ${round + 1}/${rounds} ${variant.label}`;
      let redis: RedisServer | undefined;
      const servers: RunningServer[] = [];
      let run: LoadRun | undefined;
      try {
        redis = variant.redis ? await startRedisServer({ persist: false, onSpawn: track }) : undefined;
        const env: Record<string, string> = redis ? { REDIS_URL: redis.url } : {};
        for (let i = 0; i < variant.servers; i++) servers.push(await startServer(uws, env, ctx.settings.serverNodeFlags));
        run = await LoadRun.start(servers, servers.map((s) => s.pid), shape.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
        if (shape.warmupSeconds > 0) await run.phase(shape.rate, shape.warmupSeconds, shape.payloadBytes);
        const result = await run.phase(shape.rate, shape.seconds, shape.payloadBytes);
        ctx.log(`${tag}: ${describePhase(result)}`);
        ctx.record({ scenario: 'two-server', variant: variant.name, round, connect: run.connect, ...result });
      } finally {
        await run?.stop();
        await Promise.all(servers.map((s) => s.stop()));
        await redis?.stop();
      }
    }
  }
}
