// The one place that reads process.env: every setting is validated once, all problems are
// reported together, and the result is frozen.
import { availableParallelism } from 'node:os';
import { readAccessControl, type AccessControlConfig } from './access-control.js';
import { EnvReader, type Env } from './env-reader.js';
import { readCorsOrigins, readRedisUrl } from './urls.js';

export type SlowConsumerPolicy = 'disconnect' | 'drop';
export type Compression = 'gzip' | 'off';
export type Durability = 'write' | 'fsync' | 'memory';

/** Access control (JWT key sources, claims, per-address limits, TRUST_PROXY): see access-control.ts. */
export interface Config extends AccessControlConfig {
  readonly host: string;
  readonly port: number;
  /** worker-thread shards; 0 = everything in the main thread */
  readonly shards: number;
  /** events per batch handed to the shards */
  readonly batchSize: number;
  /** longest an event waits for its batch (ms) */
  readonly batchMs: number;
  /** connections written per fan-out segment before yielding to the event loop */
  readonly segmentSize: number;
  /** bytes queued for one connection before the slow-consumer policy applies */
  readonly maxBackpressure: number;
  readonly slowConsumer: SlowConsumerPolicy;
  /** events retained for replay, one ring for all topics */
  readonly historySize: number;
  /** with the durable log: the newest events each shard also holds in memory; older resumes read the log */
  readonly historyMemorySize: number;
  /** the durable event log's directory; undefined: memory only (DATA_DIR empty, DURABILITY=memory, or cluster mode) */
  readonly dataDir: string | undefined;
  /** what a 202 promises (docs/durability.md); `memory` whenever dataDir is undefined */
  readonly durability: Durability;
  /** DURABILITY=write: the log is fdatasync'ed this often (ms) */
  readonly fsyncMs: number;
  /** a log segment file is closed and a new one begun past this size (bytes) */
  readonly logSegmentBytes: number;
  /** retention besides HISTORY_SIZE: oldest whole segments go past this age (ms) or total size (bytes); 0: no limit */
  readonly historyMaxAgeMs: number;
  readonly historyMaxBytes: number;
  /** a retried publish with the same Idempotency-Key within this window answers the first's ids (ms) */
  readonly idempotencyWindowMs: number;
  /** one server: most keys remembered; past it the oldest are forgotten before their window ends */
  readonly idempotencyMaxKeys: number;
  readonly heartbeatMs: number;
  readonly retryMs: number;
  readonly maxConnections: number;
  readonly maxPublishBytes: number;
  /** allowed CORS origins; empty = no CORS headers */
  readonly corsOrigins: readonly string[];
  readonly publishToken: string | undefined;
  readonly jwtSecret: string | undefined;
  readonly tlsCertFile: string | undefined;
  readonly tlsKeyFile: string | undefined;
  readonly redisUrl: string | undefined;
  /** spread of stream closes on shutdown (ms) */
  readonly drainMs: number;
  /** enables POST /_debug/crash-shard, used by the shard-failure test */
  readonly debugFaults: boolean;
  /** gzip: streams of clients that accept it are compressed once per group (docs/compression.md) */
  readonly compression: Compression;
 
  /** a topic's count goes out on $presence at most once per this interval (ms) */
  readonly presenceIntervalMs: number;
}

export const DEFAULTS = {
  HOST: '0.0.0.0',
  PORT: 8080,
  // cores - 1: on the machines measured, the acceptor, batching and the kernel's network work need a core
  SHARDS: Math.max(1, availableParallelism() - 1),
  BATCH_SIZE: 256, // events; chosen by make bench-sweep
  BATCH_MS: 10, // ms, at most one batch per BATCH_MS after the first; chosen by make bench-sweep
  SEGMENT_SIZE: 512, // connections; chosen by make bench-sweep
  MAX_BACKPRESSURE: 1_048_576, // bytes
  SLOW_CONSUMER: 'disconnect',
  HISTORY_SIZE: 10_000, // events
  HISTORY_MEMORY_SIZE: 100_000, // events, at most HISTORY_SIZE: ~15 MB of SSE bytes at 150 bytes an event
  DATA_DIR: './data', // relative to the working directory
  DURABILITY: 'write', // docs/durability.md: a crash of the process loses nothing answered
  FSYNC_MS: 1_000, // DURABILITY=write: power loss loses at most this much
  LOG_SEGMENT_BYTES: 16_777_216, // retention deletes whole segments
  HISTORY_MAX_AGE: 0, // none
  HISTORY_MAX_BYTES: 0, // none
  IDEMPOTENCY_WINDOW: '24h', // as Stripe's keys: covers a client's retries across a restart
  IDEMPOTENCY_MAX_KEYS: 100_000, // about 40 MB at 256-character keys
  HEARTBEAT_MS: 15_000,
  RETRY_MS: 3_000,
  MAX_CONNECTIONS: 100_000,
  MAX_PUBLISH_BYTES: 65_536,
  DRAIN_MS: 2_000,
  COMPRESSION: 'off', // docs/compression.md: why off for now
  PRESENCE_INTERVAL_MS: 1_000,
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

/** PUBLISH_TOKEN's shortest length: a shorter token is guessed too easily. */
export const MIN_PUBLISH_TOKEN_LENGTH = 16;

/**
 * PUBLISH_TOKEN is sent as `Authorization: Bearer <token>`, which ends at whitespace: a token with
 * whitespace or a control character could never match. Never echoed (a secret).
 */
function readPublishToken(read: EnvReader): string | undefined {
  const token = read.text('PUBLISH_TOKEN');
  if (token === undefined) return undefined;
  const at = token.search(/[\s\p{Cc}]/u);
  if (at >= 0) return read.problem(`\`PUBLISH_TOKEN\` must not contain whitespace or control characters (it is sent as Authorization: Bearer <token>), found one at character ${at + 1}`, undefined);
  if (token.length < MIN_PUBLISH_TOKEN_LENGTH) return read.problem(`\`PUBLISH_TOKEN\` must be at least ${MIN_PUBLISH_TOKEN_LENGTH} characters, got ${token.length}`, undefined);
  return token;
}

/** A key remembered for no time at all would make a retry publish twice: 0 is refused. */
function readIdempotencyWindow(read: EnvReader): number {
  const ms = read.duration('IDEMPOTENCY_WINDOW', DEFAULTS.IDEMPOTENCY_WINDOW);
  if (ms > 0) return ms;
  return read.problem(`\`IDEMPOTENCY_WINDOW\` must be a duration of at least 1s, like 90s, 30m, 24h or 7d, got \`${read.text('IDEMPOTENCY_WINDOW')}\``, 1_000);
}

export function loadConfig(env: Env = process.env): Config {
  const read = new EnvReader(env);

  const corsOrigins = readCorsOrigins(read);
  const tlsCertFile = read.text('TLS_CERT_FILE');
  const tlsKeyFile = read.text('TLS_KEY_FILE');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    read.problems.push('`TLS_CERT_FILE` and `TLS_KEY_FILE` must be set together');
  }
  const redisUrl = readRedisUrl(read);
  const jwtSecret = read.text('JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    read.problems.push(`\`JWT_SECRET\` must be at least 32 characters for HS256, got ${jwtSecret.length}`);
  }

  // DATA_DIR set but empty is memory only; unset is the default directory. Cluster mode: Redis is the log.
  const dataDirRaw = read.raw('DATA_DIR');
  let durability = read.oneOf<Durability>('DURABILITY', DEFAULTS.DURABILITY, ['write', 'fsync', 'memory']);
  const memoryOnly = (dataDirRaw !== undefined && dataDirRaw.trim() === '') || redisUrl !== undefined;
  if (memoryOnly && durability === 'fsync' && redisUrl === undefined) read.problems.push('`DURABILITY=fsync` needs a `DATA_DIR` (it is set empty: memory only)');
  if (memoryOnly) durability = 'memory';
  const dataDir = durability === 'memory' ? undefined : (dataDirRaw ?? DEFAULTS.DATA_DIR);

  const config: Config = {
    host: read.text('HOST') ?? DEFAULTS.HOST,
    port: read.int('PORT', DEFAULTS.PORT, 0, 65_535),
    shards: read.int('SHARDS', DEFAULTS.SHARDS, 0, 64),
    batchSize: read.int('BATCH_SIZE', DEFAULTS.BATCH_SIZE, 1, 65_536),
    batchMs: read.int('BATCH_MS', DEFAULTS.BATCH_MS, 0, 1_000),
    segmentSize: read.int('SEGMENT_SIZE', DEFAULTS.SEGMENT_SIZE, 1, 1_000_000),
    maxBackpressure: read.int('MAX_BACKPRESSURE', DEFAULTS.MAX_BACKPRESSURE, 1_024, 1_073_741_824),
    slowConsumer: read.oneOf<SlowConsumerPolicy>('SLOW_CONSUMER', DEFAULTS.SLOW_CONSUMER, ['disconnect', 'drop']),
    historySize: read.int('HISTORY_SIZE', DEFAULTS.HISTORY_SIZE, 1, 10_000_000),
    historyMemorySize: read.int('HISTORY_MEMORY_SIZE', DEFAULTS.HISTORY_MEMORY_SIZE, 1, 10_000_000),
    dataDir,
    durability,
    fsyncMs: read.int('FSYNC_MS', DEFAULTS.FSYNC_MS, 1, 60_000),
    logSegmentBytes: read.int('LOG_SEGMENT_BYTES', DEFAULTS.LOG_SEGMENT_BYTES, 4_096, 1_073_741_824),
    historyMaxAgeMs: read.duration('HISTORY_MAX_AGE', DEFAULTS.HISTORY_MAX_AGE),
    historyMaxBytes: read.int('HISTORY_MAX_BYTES', DEFAULTS.HISTORY_MAX_BYTES, 0, Number.MAX_SAFE_INTEGER),
    idempotencyWindowMs: readIdempotencyWindow(read),
    idempotencyMaxKeys: read.int('IDEMPOTENCY_MAX_KEYS', DEFAULTS.IDEMPOTENCY_MAX_KEYS, 1, 10_000_000),
    heartbeatMs: read.int('HEARTBEAT_MS', DEFAULTS.HEARTBEAT_MS, 100, 3_600_000),
    retryMs: read.int('RETRY_MS', DEFAULTS.RETRY_MS, 0, 3_600_000),
    maxConnections: read.int('MAX_CONNECTIONS', DEFAULTS.MAX_CONNECTIONS, 1, 10_000_000),
    maxPublishBytes: read.int('MAX_PUBLISH_BYTES', DEFAULTS.MAX_PUBLISH_BYTES, 1, 67_108_864),
    corsOrigins: Object.freeze(corsOrigins),
    publishToken: readPublishToken(read),
    jwtSecret,
    tlsCertFile,
    tlsKeyFile,
    redisUrl,
    drainMs: read.int('DRAIN_MS', DEFAULTS.DRAIN_MS, 0, 60_000),
    debugFaults: read.oneOf('DEBUG_FAULTS', '0', ['0', '1']) === '1',
    compression: read.oneOf<Compression>('COMPRESSION', DEFAULTS.COMPRESSION, ['gzip', 'off']),
    ...readAccessControl(read, jwtSecret),
    presenceIntervalMs: read.int('PRESENCE_INTERVAL_MS', DEFAULTS.PRESENCE_INTERVAL_MS, 10, 3_600_000),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  // memory only, the window is all there is; with the log, more than it retains would never fill
  const historyMemorySize = dataDir === undefined ? config.historySize : Math.min(config.historyMemorySize, config.historySize);
  return Object.freeze({ ...config, historyMemorySize });
}
