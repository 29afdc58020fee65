// A real redis-server (Debian's) on a free loopback port, for the cluster tests and the bench's
// two-server scenario. Never a stand-in: a missing redis-server fails with how to install it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { cpSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServer {
  url: string;
  port: number;
  /** SIGTERM: redis-server shuts down cleanly, writing its append-only file when it has one */
  stop(): Promise<void>;
  /**
   * start again on the same port; with `empty`, from a fresh folder (a Redis that lost everything);
   * with `from`, from a copy made by `snapshot()` (a Redis restored from an older backup)
   */
  start(opts?: { empty?: boolean; from?: string }): Promise<void>;
  /** a copy of the data folder as it is now (persisted data only) */
  snapshot(): string;
}

export interface RedisOptions {
  /** AOF with fsync on every write into a temporary folder, so a restart keeps the data (tests); off for the bench */
  persist: boolean;
  /** called with each redis-server process started, e.g. to kill it with its parent */
  onSpawn?: (child: ChildProcess) => void;
}

/**
 * The process id of the Redis answering at host:port, or undefined while none answers. A restart
 * must find its own process there: a stranger on the port (another test's server) would otherwise
 * pass for the restarted Redis.
 */
export function redisProcessId(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    let reply = '';
    const s = net.connect(port, host, () => s.write('INFO server\r\n'));
    s.setTimeout(1_000, () => s.destroy());
    s.on('data', (d) => {
      reply += d.toString();
      const m = /process_id:(\d+)/.exec(reply);
      if (m) {
        s.destroy();
        resolve(Number(m[1]));
      }
    });
    s.on('close', () => resolve(undefined));
    s.on('error', () => resolve(undefined));
  });
}

/**
 * A Redis restarted on its port must find the port free. Ports the kernel hands out for port 0 and
 * for outgoing connections (ip_local_port_range, 32768-60999 here) can be taken by any test in the
 * window between stop() and start(), so Redis gets a port below that range, on a loopback address of
 * its own (127.0.0.0/8 is all loopback): only another Redis of the tests could pick the same pair.
 */
function privateAddress(): { host: string; port: number } {
  const r = randomInt(0, 2 ** 24);
  return { host: `127.${100 + (r % 150)}.${(r >> 8) % 256}.${1 + ((r >> 16) % 250)}`, port: randomInt(10_000, 32_000) };
}

export async function startRedisServer(opts: RedisOptions): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: run `make test-deps` (apt-get install redis-server)');
  }
  const { host, port } = privateAddress();
  const folder = (): string => mkdtempSync(join(tmpdir(), 'sse-redis-'));
  let dir = folder();
  let proc: ChildProcess | undefined;
  const redis: RedisServer = {
    url: `redis://${host}:${port}`,
    port,
    async start(startOpts = {}) {
      if (startOpts.empty) dir = folder();
      if (startOpts.from !== undefined) dir = startOpts.from;
      const persistence = opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
      const child = spawn('redis-server', ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' });
      proc = child;
      opts.onSpawn?.(child);
      let exited = false;
      child.once('exit', () => (exited = true));
      for (let i = 0; (await redisProcessId(host, port)) !== child.pid; i++) {
        if (exited) throw new Error(`redis-server exited at start on ${host}:${port} (is the port taken?)`);
        if (i > 400) throw new Error(`redis-server did not answer on ${host}:${port}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    snapshot() {
      const copy = folder();
      cpSync(dir, copy, { recursive: true });
      return copy;
    },
    async stop() {
      if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      await exited;
    },
  };
  await redis.start();
  return redis;
}
