// Starts the real server (built to dist/) as a child process on a free port, as users run it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sumMetric } from '../support/metrics-text.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/server.js', import.meta.url));

/** SHARDS for every server a test starts, unless the test sets it: `make test` runs the suite with 0, 1 and 4. */
export const TEST_SHARDS = process.env['TEST_SHARDS'] ?? '0';

export interface TestServer {
  url: string;
  port: number;
  proc: ChildProcess;
  output(): string;
  /** SIGTERM, then the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  publish(topic: string, data: string, opts?: { event?: string; headers?: Record<string, string> }): Promise<string>;
  publishJson(items: unknown): Promise<Response>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

/** A fresh data directory for one server, removed with it: no server under test writes into the checkout. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'sse-data-'));
}

/** Unless `env` sets DATA_DIR, the server gets its own temporary one, deleted when it exits. */
export async function startServer(env: Record<string, string> = {}): Promise<TestServer> {
  const ownDir = env['DATA_DIR'] === undefined ? tempDataDir() : undefined;
  const proc = spawn(process.execPath, [ENTRY], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', SHARDS: TEST_SHARDS, ...(ownDir === undefined ? {} : { DATA_DIR: ownDir }), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (ownDir !== undefined) proc.on('exit', () => rmSync(ownDir, { recursive: true, force: true }));
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 15_000);
    const check = (): void => {
      const m = /listening on (https?:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', check);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}`));
    });
  });
  const server: TestServer = {
    url,
    port: Number(new URL(url).port),
    proc,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const [code] = (await once(proc, 'exit')) as [number | null];
      return code;
    },
    async publish(topic, data, opts = {}) {
      const q = new URLSearchParams({ topic, ...(opts.event ? { event: opts.event } : {}) });
      const res = await fetch(`${url}/publish?${q}`, { method: 'POST', body: data, headers: opts.headers });
      const body = (await res.json()) as { id?: string };
      if (res.status !== 202 || !body.id) throw new Error(`publish failed: ${res.status} ${JSON.stringify(body)}`);
      return body.id;
    },
    publishJson(items) {
      return fetch(`${url}/publish`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } });
    },
    async metric(name, labels) {
      return sumMetric(await (await fetch(`${url}/metrics`)).text(), name, labels);
    },
  };
  return server;
}

/** Polls until `check` returns a value other than undefined/false: waits for the state, not for time. */
export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
