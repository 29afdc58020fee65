// The variants under test, each started as a fresh server process on a free loopback port: the
// node:http baseline, and the uWS server with SHARDS=N. A variant name is `baseline` or `uws-<N>`;
// `floor` (a bare uWS app, bench/baseline/uws-floor.ts) is measured by the publish scenarios only.
import { spawn, type ChildProcess } from 'node:child_process';
import { benchModule, track } from './processes.js';

export interface Variant {
  name: string;
  label: string;
  kind: 'baseline' | 'uws' | 'floor';
  shards: number;
}

export function parseVariant(name: string): Variant | undefined {
  if (name === 'baseline') return { name, label: 'baseline (node:http)', kind: 'baseline', shards: 0 };
  if (name === 'floor') return { name, label: 'bare uWS app (floor)', kind: 'floor', shards: 0 };
  const m = /^uws-(\d{1,2})$/.exec(name);
  if (!m) return undefined;
  const shards = Number(m[1]);
  return { name, label: `uWS SHARDS=${shards}`, kind: 'uws', shards };
}

export interface RunningServer {
  variant: Variant;
  pid: number;
  host: string;
  port: number;
  /** what the uWS server printed on its `settings {...}` line (undefined for the baseline) */
  settings: Record<string, unknown> | undefined;
  output(): string;
  alive(): boolean;
  /** how the process ended: its exit code, or the signal that killed it */
  exited: Promise<{ code: number | null; signal: string | null }>;
  stop(): Promise<void>;
}

const ENTRY = {
  baseline: benchModule('./baseline/server.js'),
  uws: benchModule('../src/server.js'),
  floor: benchModule('./baseline/uws-floor.js'),
};

/**
 * Starts a fresh server for `variant` and resolves once it prints `listening on http://HOST:PORT`;
 * `startTimeoutMs` is longer for a server that first recovers a large DATA_DIR log; `onSpawn` gets
 * its pid at once.
 */
export function startServer(
  variant: Variant,
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
  { startTimeoutMs = 15_000, onSpawn }: { startTimeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<RunningServer> {
  const args = [...nodeFlags, ENTRY[variant.kind]];
  const child: ChildProcess = track(
    spawn(process.execPath, args, {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        SHARDS: String(variant.shards),
        DRAIN_MS: '0', // stopping a server with 10,000 streams must not take seconds
        DATA_DIR: '', // memory only, as the figures before the durable log; the durability scenario measures the log
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  onSpawn?.(child.pid!); // before it listens: its start-up is measured too
  const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    if (out.length > 65_536) out = out.slice(-32_768);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${variant.label} did not start within ${startTimeoutMs / 1000} s:\n${out}`));
    }, startTimeoutMs);
    const onExit = (code: number | null, signal: string | null): void => {
      clearTimeout(timer);
      reject(new Error(`${variant.label} exited (${signal ?? code}) before listening:\n${out}`));
    };
    child.once('exit', onExit);
    const check = (): void => {
      const m = /listening on http:\/\/([\d.]+):(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      const s = /^settings (\{.*\})$/m.exec(out);
      resolve({
        variant,
        pid: child.pid!,
        host: m[1]!,
        port: Number(m[2]),
        settings: s ? (JSON.parse(s[1]!) as Record<string, unknown>) : undefined,
        output: () => out,
        alive: () => child.exitCode === null && child.signalCode === null,
        exited,
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(hard);
        },
      });
    };
    child.stdout!.on('data', check);
  });
}
