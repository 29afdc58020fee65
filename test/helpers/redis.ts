// A real redis-server (Debian's), started by the tests on a free loopback port, persisting to a
// temporary folder so that a restart keeps its data, the way production Redis does.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { answersPing, freePort } from '../../bench/redis-process.js';
import { waitFor } from './server.js';

export interface TestRedis {
  url: string;
  port: number;
  /** stop (SHUTDOWN: the append-only file is flushed) */
  stop(): Promise<void>;
  /** start again on the same port; with `empty`, from a fresh folder: a Redis that lost everything */
  start(opts?: { empty?: boolean }): Promise<void>;
}

function assertInstalled(): void {
  if (spawnSync('redis-server', ['--version']).error) {
    throw new Error('redis-server is not installed: run `make test-deps` (apt-get install redis-server)');
  }
}

export async function startRedis(): Promise<TestRedis> {
  assertInstalled();
  const port = await freePort();
  let dir = mkdtempSync(join(tmpdir(), 'sse-redis-'));
  let proc: ChildProcess | undefined;
  const redis: TestRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    async start(opts = {}) {
      if (opts.empty) dir = mkdtempSync(join(tmpdir(), 'sse-redis-'));
      proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], { stdio: 'ignore' });
      await waitFor(() => answersPing(port), `redis-server on port ${port}`);
    },
    async stop() {
      if (proc === undefined || proc.exitCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM'); // redis-server shuts down cleanly on SIGTERM, writing its AOF
      await exited;
    },
  };
  await redis.start();
  return redis;
}
