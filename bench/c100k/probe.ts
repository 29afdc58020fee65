// A bounded probe of the connect phase at one process scale: one server process (cluster mode on a
// local redis-server, SHARDS=1) and one generator process from 127.0.0.2, N subscribers. Prints the
// CPU per connection of each (server by thread; PROBE_SERVERS on one port for cluster-wide costs), the wall time and the server's RSS per connection.
// PROBE_N (2000), PROBE_RAMP_S (0: as fast as the concurrency allows), PROBE_CONCURRENCY (200),
// PROBE_SHARDS (1), PROBE_HOLD_S (hold the connections before closing), PROBE_SERVER_FLAGS / PROBE_GENERATOR_FLAGS (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof).
// Usage: node dist/bench/c100k/probe.js
import { loadavg } from 'node:os';
import { startRedisServer } from '../../test/support/redis-server.js';
import { cpuSeconds, memory, threadTimes } from '../proc-stats.js';
import { ChildClient, track, watchdog } from '../processes.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import { freePort, openFiles } from './cluster.js';
import type { GeneratorConnectReport, GeneratorRequest } from './protocol.js';

const env = process.env;
const n = Number(env['PROBE_N'] ?? 2000);
const flags = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter(Boolean);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  watchdog(600);
  const redis = await startRedisServer({ persist: false, onSpawn: (c) => void track(c) });
  const servers: RunningServer[] = [];
  const port = await freePort();
  for (let i = 0; i < Number(env['PROBE_SERVERS'] ?? 1); i++) {
    servers.push(await startServer(parseVariant('uws-1')!, { REDIS_URL: redis.url, PORT: String(port), SHARDS: env['PROBE_SHARDS'] ?? '1', MAX_CONNECTIONS: '19000', HEARTBEAT_MS: '15000' }, flags(env['PROBE_SERVER_FLAGS'])));
  }
  const server = servers[0]!;
  const cpuAll = (): number => servers.reduce((a, x) => a + cpuSeconds(x.pid), 0);
  const gen = ChildClient.start<GeneratorRequest>('generator', './c100k/generator-process.js', ['--max-semi-space-size=32', ...flags(env['PROBE_GENERATOR_FLAGS'])]);
  await sleep(1000);
  const threads0 = threadTimes(server.pid);
  const cpu0 = cpuAll();
  const rss0 = memory(server.pid).rss;
  const fds0 = openFiles(server.pid);
  const load0 = loadavg()[0]!;
  const t0 = performance.now();
  const r = await gen.request<GeneratorConnectReport>({ type: 'connect', host: '127.0.0.1', port: server.port, localAddress: '127.0.0.2', first: 0, count: n, broadcast: 'all', topics: 10_000, rampMs: Number(env['PROBE_RAMP_S'] ?? 0) * 1000, concurrency: Number(env['PROBE_CONCURRENCY'] ?? 200), timeoutMs: 60_000, reconnectSpreadMs: 1000 });
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuAll() - cpu0;
  const byThread = [...threadTimes(server.pid)].map(([tid, t]) => ({ tid, cpu: t.cpu - (threads0.get(tid)?.cpu ?? 0) })).filter((t) => t.cpu > 0.05);
  await sleep(2000);
  const rss1 = memory(server.pid).rss;
  const held = Math.max(openFiles(server.pid) - fds0, 1);
  const us = (s: number): string => ((s * 1e6) / Math.max(r.connected, 1)).toFixed(0);
  console.log(
    `N=${n} connected ${r.connected} failed ${r.failed} ${JSON.stringify(r.failures)} in ${wall.toFixed(2)} s (${(r.connected / wall).toFixed(0)}/s); ` +
      `servers (${servers.length}) ${cpu.toFixed(2)} CPU s = ${us(cpu)} µs/conn [first server's threads ${byThread.map((t) => `${t.tid}:${us(t.cpu)}`).join(' ')}]; generator ${r.cpuSeconds.toFixed(2)} CPU s = ${us(r.cpuSeconds)} µs/conn; ` +
      `first server RSS ${(rss0 / 2 ** 20).toFixed(0)}→${(rss1 / 2 ** 20).toFixed(0)} MiB holding ${held} = ${((rss1 - rss0) / 1024 / held).toFixed(2)} KiB/conn; load ${load0.toFixed(2)}→${loadavg()[0]!.toFixed(2)}`,
  );
  if (env['PROBE_HOLD_S']) await sleep(Number(env['PROBE_HOLD_S']) * 1000);
  await gen.request({ type: 'disconnect' });
  await gen.stop();
  for (const x of servers) await x.stop();
  await redis.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
