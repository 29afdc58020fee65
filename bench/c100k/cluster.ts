// The processes of one c100k run: a local redis-server, the server processes all listening on one
// port (uWS sets SO_REUSEPORT: the kernel spreads new connections over them) in cluster mode with
// SHARDS=1, and the generator processes, each from a loopback address of its own. Reads what the
// kernel says about them: CPU, RSS, open descriptors, and the machine's TCP socket memory.
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server.js';
import { cpuTimes, memory, type CpuTimes } from '../proc-stats.js';
import { ChildClient, track } from '../processes.js';
import { parseVariant, startServer, type RunningServer } from '../server-process.js';
import type { GeneratorRequest } from './protocol.js';
import type { C100kSettings } from './settings.js';

export const HOST = '127.0.0.1';

/** A port free on 127.0.0.1 now (the servers then share it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Descriptors a process holds open; -1 once it is gone. */
export function openFiles(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** User and system CPU seconds of a process, or `last` once it is gone (the killed server keeps its last reading). */
export function timesOr(pid: number, last: CpuTimes): CpuTimes {
  try {
    return cpuTimes(pid);
  } catch {
    return last;
  }
}

/** CPU seconds of a process, or `last` once it is gone. */
export function cpuOr(pid: number, last: number): number {
  const t = timesOr(pid, { user: last, system: 0 });
  return t.user + t.system;
}

export function rssOf(pid: number): number {
  try {
    return memory(pid).rss;
  } catch {
    return 0;
  }
}

/** /proc/net/sockstat, TCP line: sockets in use and the pages of memory they hold (both ends of a loopback connection count). */
export function tcpSockstat(): { inUse: number; memBytes: number } {
  const m = /^TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/m.exec(readFileSync('/proc/net/sockstat', 'utf8'));
  return m ? { inUse: Number(m[1]), memBytes: Number(m[2]) * 4096 } : { inUse: 0, memBytes: 0 };
}

export class Cluster {
  readonly servers: RunningServer[] = [];
  readonly generators: ChildClient<GeneratorRequest>[] = [];
  redis: RedisServer | undefined;
  redisPid = 0;
  port = 0;

  async start(servers: number, generators: number, s: Readonly<C100kSettings>, log: (l: string) => void): Promise<void> {
    this.redis = await startRedisServer({
      persist: false,
      onSpawn: (child) => {
        track(child);
        this.redisPid = child.pid ?? 0;
      },
    });
    this.port = await freePort();
    const uws = parseVariant('uws-1')!;
    const env = { REDIS_URL: this.redis.url, PORT: String(this.port), SHARDS: '1', MAX_CONNECTIONS: String(s.serverMaxConnections), HEARTBEAT_MS: String(s.heartbeatMs) };
    for (let i = 0; i < servers; i++) this.servers.push(await startServer(uws, env, s.serverNodeFlags));
    for (const srv of this.servers) if (srv.port !== this.port) throw new Error(`a server listens on ${srv.port}, not the shared port ${this.port}`);
    log(`${servers} server processes on ${HOST}:${this.port} (pids ${this.servers.map((x) => x.pid).join(', ')}), redis at ${this.redis.url}`);
    // a larger young generation: the parser makes many short strings
    for (let i = 0; i < generators; i++) this.generators.push(ChildClient.start<GeneratorRequest>(`generator#${i}`, './c100k/generator-process.js', ['--max-semi-space-size=32']));
  }

  /** Every process started, killed or stopped; safe to call twice and after a failure. */
  async stop(): Promise<void> {
    await Promise.all(this.generators.map((g) => g.request({ type: 'disconnect' }).catch(() => undefined)));
    await Promise.all(this.generators.map((g) => g.stop()));
    await Promise.all(this.servers.map((x) => x.stop()));
    await this.redis?.stop();
    this.generators.length = 0;
    this.servers.length = 0;
    this.redis = undefined;
  }
}
