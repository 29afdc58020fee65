// A real redis-server (Debian's) on a free loopback port, for the cluster tests and the bench's
// two-server scenario. Never a stand-in: a missing redis-server fails with how to install it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

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

/** Whether a Redis on this loopback port answers PING. */
export function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

export async function startRedisServer(opts: RedisOptions): Promise<RedisServer> {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: run `make test-deps` (apt-get install redis-server)');
  }
  const port = await freePort();
  const folder = (): string => mkdtempSync(join(tmpdir(), 'sse-redis-'));
  let dir = folder();
  let proc: ChildProcess | undefined;
  const redis: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start(startOpts = {}) {
      if (startOpts.empty) dir = folder();
      if (startOpts.from !== undefined) dir = startOpts.from;
      const persistence = opts.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence], { stdio: 'ignore' });
      opts.onSpawn?.(proc);
      for (let i = 0; !(await answersPing(port)); i++) {
        if (i > 400) throw new Error(`redis-server did not answer on port ${port}`);
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
