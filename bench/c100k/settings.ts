// The knobs of `make bench-c100k`, read once from C100K_* environment variables (BENCH_RESULTS_DIR as
// `make bench`) over two presets: full (10,000 then 100,000 subscribers) and BENCH_QUICK=1 (2,000 over
// 2 servers and 2 generators, a few seconds, for the bench smoke test).
import { fileURLToPath } from 'node:url';
import { EnvReader, type Env } from '../../src/config/env-reader.js';

export interface C100kSettings {
  mode: 'full' | 'quick';
  resultsDir: string;
  /** one full run per scale (subscribers), side by side in the report */
  scales: number[];
  /** subscribers one server process is meant to hold (the open-files limit is 20,000 a process here) */
  perServer: number;
  /** MAX_CONNECTIONS of each server: below the open-files limit, so that an overflow is a 503, not EMFILE */
  serverMaxConnections: number;
  /** subscribers per generator process (each from its own loopback address: ~28,000 ephemeral ports) */
  perGenerator: number;
  /** connection starts spread evenly over this (s); target: all connected within 30 s */
  rampSeconds: number;
  /** handshakes in flight per generator process */
  connectConcurrency: number;
  connectTimeoutMs: number;
  /** publishing window of each measured phase (s) */
  seconds: number;
  payloadBytes: number;
  /** the many-topics phase: topics the subscribers are spread over, and events per second over them */
  topics: number;
  topicRate: number;
  /** idle windows (before connecting, and holding every connection) for heartbeat and presence cost (s); the second long enough for V8's memory reducer (a first look about 8 s after allocation slows) */
  idleSeconds: number;
  /** pause after starting the servers and after connecting, for allocations to settle (ms) */
  settleMs: number;
  heartbeatMs: number;
  /** the kill phase: 10 events/s for `killSeconds`, one server SIGKILLed `killAtSeconds` in */
  killSeconds: number;
  killAtSeconds: number;
  /** a subscriber whose server went away reconnects after a random pause up to this (ms) */
  reconnectSpreadMs: number;
  /** longest wait for deliveries, or for every subscriber to be back (s) */
  drainSeconds: number;
  timeoutSeconds: number;
  serverNodeFlags: string[];
}

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export function loadC100kSettings(env: Env = process.env): Readonly<C100kSettings> {
  const quick = env['BENCH_QUICK'] === '1';
  const read = new EnvReader(env);
  const s: C100kSettings = {
    mode: quick ? 'quick' : 'full',
    resultsDir: read.text('BENCH_RESULTS_DIR')?.trim() ?? `${REPO}results`,
    scales: read.ints('C100K_SCALES', quick ? [2_000] : [10_000, 100_000], 1, 200_000),
    perServer: read.int('C100K_PER_SERVER', quick ? 1_000 : 17_000, 100, 19_000),
    serverMaxConnections: read.int('C100K_SERVER_MAX_CONNECTIONS', 19_000, 100, 19_500),
    perGenerator: read.int('C100K_PER_GENERATOR', quick ? 1_000 : 16_000, 100, 18_000),
    rampSeconds: read.number('C100K_RAMP_SECONDS', quick ? 0.5 : 20, 0, 300),
    connectConcurrency: read.int('C100K_CONNECT_CONCURRENCY', 200, 1, 5_000),
    connectTimeoutMs: read.int('C100K_CONNECT_TIMEOUT_MS', 60_000, 1_000, 600_000),
    seconds: read.number('C100K_SECONDS', quick ? 1.5 : 10, 0.5, 600),
    payloadBytes: read.int('C100K_PAYLOAD_BYTES', 128, 32, 65_536),
    topics: read.int('C100K_TOPICS', quick ? 100 : 10_000, 1, 100_000),
    topicRate: read.number('C100K_TOPIC_RATE', quick ? 200 : 1_000, 1, 100_000),
    idleSeconds: read.number('C100K_IDLE_SECONDS', quick ? 1 : 30, 0.5, 600),
    settleMs: read.int('C100K_SETTLE_MS', quick ? 300 : 2_000, 0, 60_000),
    heartbeatMs: read.int('C100K_HEARTBEAT_MS', quick ? 250 : 15_000, 100, 3_600_000),
    killSeconds: read.number('C100K_KILL_SECONDS', quick ? 2 : 12, 1, 600),
    killAtSeconds: read.number('C100K_KILL_AT_SECONDS', quick ? 0.5 : 3, 0.1, 600),
    reconnectSpreadMs: read.int('C100K_RECONNECT_SPREAD_MS', quick ? 100 : 1_000, 0, 60_000),
    drainSeconds: read.number('C100K_DRAIN_SECONDS', quick ? 5 : 30, 1, 600),
    timeoutSeconds: read.int('C100K_TIMEOUT_SECONDS', quick ? 120 : 1_800, 10, 86_400),
    serverNodeFlags: (env['C100K_SERVER_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean),
  };
  if (s.killAtSeconds >= s.killSeconds) read.problems.push('`C100K_KILL_AT_SECONDS` must be below `C100K_KILL_SECONDS`');
  if (read.problems.length > 0) throw new Error(`invalid bench settings:\n  ${read.problems.join('\n  ')}`);
  return Object.freeze(s);
}

/** Server processes for `n` subscribers: what the limit forces, and one more when the survivors of a kill could not hold them all. */
export function serversFor(n: number, s: Readonly<C100kSettings>): number {
  let servers = Math.max(2, Math.ceil(n / s.perServer));
  if ((servers - 1) * s.serverMaxConnections < n) servers++;
  return servers;
}

export function generatorsFor(n: number, s: Readonly<C100kSettings>): number {
  return Math.max(2, Math.ceil(n / s.perGenerator));
}
