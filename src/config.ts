// The one place that reads process.env: every setting is validated once, all problems are
// reported together, and the result is frozen.
import { availableParallelism } from 'node:os';

export type SlowConsumerPolicy = 'disconnect' | 'drop';

export interface Config {
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
}

export const DEFAULTS = {
  HOST: '0.0.0.0',
  PORT: 8080,
  SHARDS: availableParallelism(),
  BATCH_SIZE: 256, // events; chosen by make bench-sweep
  BATCH_MS: 10, // ms, at most one batch per BATCH_MS after the first; chosen by make bench-sweep
  SEGMENT_SIZE: 512, // connections; chosen by make bench-sweep
  MAX_BACKPRESSURE: 1_048_576, // bytes
  SLOW_CONSUMER: 'disconnect',
  HISTORY_SIZE: 10_000, // events
  HEARTBEAT_MS: 15_000,
  RETRY_MS: 3_000,
  MAX_CONNECTIONS: 100_000,
  MAX_PUBLISH_BYTES: 65_536,
  DRAIN_MS: 2_000,
} as const;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
}

type Env = Record<string, string | undefined>;

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push(`\`${name}\` must be an integer from ${min} to ${max}, got \`${raw}\``);
      return fallback;
    }
    return value;
  };
  const text = (name: string): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const oneOf = <T extends string>(name: string, fallback: T, allowed: readonly T[]): T => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`\`${name}\` must be one of ${allowed.join(', ')}, got \`${raw}\``);
      return fallback;
    }
    return raw as T;
  };

  const corsOrigins = (text('CORS_ORIGIN') ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of corsOrigins) {
    if (origin === '*' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
      problems.push(`\`CORS_ORIGIN\` must list origins like https://app.example.com (no paths, no *), got \`${origin}\``);
    }
  }
  const tlsCertFile = text('TLS_CERT_FILE');
  const tlsKeyFile = text('TLS_KEY_FILE');
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    problems.push('`TLS_CERT_FILE` and `TLS_KEY_FILE` must be set together');
  }
  const redisUrl = text('REDIS_URL');
  if (redisUrl !== undefined && !/^rediss?:\/\/./.test(redisUrl)) {
    problems.push(`\`REDIS_URL\` must look like redis://host:port, got \`${redisUrl}\``);
  }
  const jwtSecret = text('JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) {
    problems.push(`\`JWT_SECRET\` must be at least 32 characters for HS256, got ${jwtSecret.length}`);
  }

  const config: Config = {
    host: text('HOST') ?? DEFAULTS.HOST,
    port: int('PORT', DEFAULTS.PORT, 0, 65_535),
    shards: int('SHARDS', DEFAULTS.SHARDS, 0, 64),
    batchSize: int('BATCH_SIZE', DEFAULTS.BATCH_SIZE, 1, 65_536),
    batchMs: int('BATCH_MS', DEFAULTS.BATCH_MS, 0, 1_000),
    segmentSize: int('SEGMENT_SIZE', DEFAULTS.SEGMENT_SIZE, 1, 1_000_000),
    maxBackpressure: int('MAX_BACKPRESSURE', DEFAULTS.MAX_BACKPRESSURE, 1_024, 1_073_741_824),
    slowConsumer: oneOf<SlowConsumerPolicy>('SLOW_CONSUMER', DEFAULTS.SLOW_CONSUMER, ['disconnect', 'drop']),
    historySize: int('HISTORY_SIZE', DEFAULTS.HISTORY_SIZE, 1, 10_000_000),
    heartbeatMs: int('HEARTBEAT_MS', DEFAULTS.HEARTBEAT_MS, 100, 3_600_000),
    retryMs: int('RETRY_MS', DEFAULTS.RETRY_MS, 0, 3_600_000),
    maxConnections: int('MAX_CONNECTIONS', DEFAULTS.MAX_CONNECTIONS, 1, 10_000_000),
    maxPublishBytes: int('MAX_PUBLISH_BYTES', DEFAULTS.MAX_PUBLISH_BYTES, 1, 67_108_864),
    corsOrigins: Object.freeze(corsOrigins),
    publishToken: text('PUBLISH_TOKEN'),
    jwtSecret,
    tlsCertFile,
    tlsKeyFile,
    redisUrl,
    drainMs: int('DRAIN_MS', DEFAULTS.DRAIN_MS, 0, 60_000),
    debugFaults: oneOf('DEBUG_FAULTS', '0', ['0', '1']) === '1',
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
