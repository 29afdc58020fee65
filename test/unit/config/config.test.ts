import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ACCESS_CONTROL_DEFAULTS } from '../../../src/config/access-control.js';
import { problemsOf } from '../../helpers/config-problems.js';
import { DEFAULTS, loadConfig, type Config } from '../../../src/config/config.js';

const SECRET_32 = 'x'.repeat(32);

describe('loadConfig defaults', () => {
  it('loadConfig({}) gives the documented defaults', () => {
    expect(loadConfig({})).toEqual({
      host: '0.0.0.0',
      port: 8080,
      shards: Math.max(1, availableParallelism() - 1),
      batchSize: DEFAULTS.BATCH_SIZE,
      batchMs: DEFAULTS.BATCH_MS,
      segmentSize: DEFAULTS.SEGMENT_SIZE,
      maxBackpressure: 1_048_576,
      slowConsumer: 'disconnect',
      historySize: 10_000,
      historyMemorySize: 10_000,
      dataDir: './data',
      durability: 'write',
      fsyncMs: 1_000,
      logSegmentBytes: 16_777_216,
      historyMaxAgeMs: 0,
      historyMaxBytes: 0,
      idempotencyWindowMs: 86_400_000,
      idempotencyMaxKeys: 100_000,
      heartbeatMs: 15_000,
      retryMs: 3_000,
      maxConnections: 100_000,
      maxPublishBytes: 65_536,
      corsOrigins: [],
      publishToken: undefined,
      jwtSecret: undefined,
      tlsCertFile: undefined,
      tlsKeyFile: undefined,
      redisUrl: undefined,
      drainMs: 2_000,
      debugFaults: false,
      compression: 'off',
      ...ACCESS_CONTROL_DEFAULTS, // access-control variables: test/unit/config/access-control.test.ts
      presenceIntervalMs: 1_000,
    } satisfies Config);
  });

  it('the tuned defaults are within their own ranges', () => {
    expect(DEFAULTS.BATCH_SIZE).toBeGreaterThanOrEqual(1);
    expect(DEFAULTS.BATCH_SIZE).toBeLessThanOrEqual(65_536);
    expect(DEFAULTS.BATCH_MS).toBeGreaterThanOrEqual(0);
    expect(DEFAULTS.BATCH_MS).toBeLessThanOrEqual(1_000);
    expect(DEFAULTS.SEGMENT_SIZE).toBeGreaterThanOrEqual(1);
  });

  it('treats an empty string like an unset variable', () => {
    expect(loadConfig({ PORT: '', HOST: '', BATCH_SIZE: '', SLOW_CONSUMER: '', CORS_ORIGIN: '' })).toEqual(loadConfig({}));
  });

  it('reads every variable it is given', () => {
    const c = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      SHARDS: '0',
      BATCH_SIZE: '64',
      BATCH_MS: '5',
      SEGMENT_SIZE: '128',
      MAX_BACKPRESSURE: '4096',
      SLOW_CONSUMER: 'drop',
      HISTORY_SIZE: '50',
      HEARTBEAT_MS: '1000',
      RETRY_MS: '0',
      MAX_CONNECTIONS: '10',
      MAX_PUBLISH_BYTES: '1024',
      CORS_ORIGIN: 'https://a.example.com, http://localhost:3000',
      PUBLISH_TOKEN: 'pub-token-0123456789',
      JWT_SECRET: SECRET_32,
      TLS_CERT_FILE: '/c.pem',
      TLS_KEY_FILE: '/k.pem',
      REDIS_URL: 'redis://127.0.0.1:6379',
      DRAIN_MS: '0',
      DEBUG_FAULTS: '1',
      COMPRESSION: 'gzip',
      PRESENCE_INTERVAL_MS: '250',
    });
    expect(c).toEqual({
      host: '127.0.0.1',
      port: 0,
      shards: 0,
      batchSize: 64,
      batchMs: 5,
      segmentSize: 128,
      maxBackpressure: 4096,
      slowConsumer: 'drop',
      historySize: 50,
      historyMemorySize: 50,
      dataDir: undefined, // cluster mode: Redis is the log
      durability: 'memory',
      fsyncMs: 1_000,
      logSegmentBytes: 16_777_216,
      historyMaxAgeMs: 0,
      historyMaxBytes: 0,
      idempotencyWindowMs: 86_400_000,
      idempotencyMaxKeys: 100_000,
      heartbeatMs: 1000,
      retryMs: 0,
      maxConnections: 10,
      maxPublishBytes: 1024,
      corsOrigins: ['https://a.example.com', 'http://localhost:3000'],
      publishToken: 'pub-token-0123456789',
      jwtSecret: SECRET_32,
      tlsCertFile: '/c.pem',
      tlsKeyFile: '/k.pem',
      redisUrl: 'redis://127.0.0.1:6379',
      drainMs: 0,
      debugFaults: true,
      compression: 'gzip',
      ...ACCESS_CONTROL_DEFAULTS,
      presenceIntervalMs: 250,
    } satisfies Config);
  });
});

describe('numeric variables', () => {
  const NUMERIC: Array<[name: string, key: keyof Config, min: number, max: number]> = [
    ['PORT', 'port', 0, 65_535],
    ['SHARDS', 'shards', 0, 64],
    ['BATCH_SIZE', 'batchSize', 1, 65_536],
    ['BATCH_MS', 'batchMs', 0, 1_000],
    ['SEGMENT_SIZE', 'segmentSize', 1, 1_000_000],
    ['MAX_BACKPRESSURE', 'maxBackpressure', 1_024, 1_073_741_824],
    ['HISTORY_SIZE', 'historySize', 1, 10_000_000],
    ['HEARTBEAT_MS', 'heartbeatMs', 100, 3_600_000],
    ['RETRY_MS', 'retryMs', 0, 3_600_000],
    ['MAX_CONNECTIONS', 'maxConnections', 1, 10_000_000],
    ['MAX_PUBLISH_BYTES', 'maxPublishBytes', 1, 67_108_864],
    ['DRAIN_MS', 'drainMs', 0, 60_000],
    ['PRESENCE_INTERVAL_MS', 'presenceIntervalMs', 10, 3_600_000],
    ['FSYNC_MS', 'fsyncMs', 1, 60_000],
    ['LOG_SEGMENT_BYTES', 'logSegmentBytes', 4_096, 1_073_741_824],
  ];

  describe.each(NUMERIC)('%s', (name, key, min, max) => {
    it(`accepts the bounds ${min} and ${max}`, () => {
      expect(loadConfig({ [name]: String(min) })[key]).toBe(min);
      expect(loadConfig({ [name]: String(max) })[key]).toBe(max);
    });

    it.each(['abc', '1.5', '1e3', '0x10', '12px', '+5', '--1', 'Infinity', 'NaN', '٣', String(min - 1), String(max + 1), '99999999999999999999'])(
      'rejects %j naming the variable, the range and the value',
      (raw) => {
        expect(problemsOf({ [name]: raw })).toEqual([`\`${name}\` must be an integer from ${min} to ${max}, got \`${raw}\``]);
      },
    );
  });

  it('matches the example message of the style guide exactly', () => {
    expect(problemsOf({ BATCH_SIZE: 'abc' })).toEqual(['`BATCH_SIZE` must be an integer from 1 to 65536, got `abc`']);
  });

  it('the thrown error message lists the problem too', () => {
    expect(() => loadConfig({ BATCH_SIZE: 'abc' })).toThrow('`BATCH_SIZE` must be an integer from 1 to 65536, got `abc`');
  });
});

describe('several problems', () => {
  it('are all reported together, in one error', () => {
    const problems = problemsOf({
      PORT: '70000',
      BATCH_SIZE: 'abc',
      SLOW_CONSUMER: 'explode',
      CORS_ORIGIN: '*',
      TLS_CERT_FILE: '/c.pem',
      REDIS_URL: 'localhost:6379',
      JWT_SECRET: 'short',
    });
    expect(problems).toHaveLength(7);
    expect(problems).toEqual(
      expect.arrayContaining([
        '`PORT` must be an integer from 0 to 65535, got `70000`',
        '`BATCH_SIZE` must be an integer from 1 to 65536, got `abc`',
        '`SLOW_CONSUMER` must be one of disconnect, drop, got `explode`',
        '`CORS_ORIGIN` must list origins like https://app.example.com (no paths, no *), got `*`',
        '`TLS_CERT_FILE` and `TLS_KEY_FILE` must be set together',
        '`REDIS_URL` must look like redis://host:port, got `localhost:6379`',
        '`JWT_SECRET` must be at least 32 characters for HS256, got 5',
      ]),
    );
    try {
      loadConfig({ PORT: '70000', BATCH_SIZE: 'abc' });
      expect.unreachable('loadConfig should have thrown');
    } catch (err) {
      expect((err as Error).message).toBe(
        'invalid configuration:\n  `PORT` must be an integer from 0 to 65535, got `70000`\n  `BATCH_SIZE` must be an integer from 1 to 65536, got `abc`',
      );
    }
  });
});

describe('frozen result', () => {
  it('is frozen: assignments throw in strict mode and change nothing', () => {
    const c = loadConfig({});
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(c.port).toBe(8080);
  });

  // A shallow freeze would leave corsOrigins mutable: any module could widen the CORS policy.
  it('freezes nested values too (corsOrigins)', () => {
    const c = loadConfig({ CORS_ORIGIN: 'https://a.example.com' });
    expect(Object.isFrozen(c.corsOrigins)).toBe(true);
  });
});

describe('CORS_ORIGIN', () => {
  it('rejects *', () => {
    expect(problemsOf({ CORS_ORIGIN: '*' })).toEqual([
      '`CORS_ORIGIN` must list origins like https://app.example.com (no paths, no *), got `*`',
    ]);
  });

  it('rejects * among other origins', () => {
    expect(problemsOf({ CORS_ORIGIN: 'https://a.example.com,*' })).toEqual([
      '`CORS_ORIGIN` must list origins like https://app.example.com (no paths, no *), got `*`',
    ]);
  });

  it.each(['https://a.example.com/path', 'a.example.com', 'ftp://a.example.com', 'https://*.example.com/'])('rejects %j', (origin) => {
    expect(problemsOf({ CORS_ORIGIN: origin })).toHaveLength(1);
  });

  it('accepts a comma-separated list, trimmed, without empty entries', () => {
    expect(loadConfig({ CORS_ORIGIN: ' https://a.example.com ,, http://b.example.com:8080 ' }).corsOrigins).toEqual([
      'https://a.example.com',
      'http://b.example.com:8080',
    ]);
  });
});

describe('TLS files', () => {
  it('must be set together', () => {
    const message = '`TLS_CERT_FILE` and `TLS_KEY_FILE` must be set together';
    expect(problemsOf({ TLS_CERT_FILE: '/c.pem' })).toEqual([message]);
    expect(problemsOf({ TLS_KEY_FILE: '/k.pem' })).toEqual([message]);
    expect(problemsOf({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '' })).toEqual([message]);
  });

  it('are accepted when both are set', () => {
    const c = loadConfig({ TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' });
    expect(c.tlsCertFile).toBe('/c.pem');
    expect(c.tlsKeyFile).toBe('/k.pem');
  });
});

describe('other variables', () => {
  it('SLOW_CONSUMER accepts disconnect and drop only', () => {
    expect(loadConfig({ SLOW_CONSUMER: 'disconnect' }).slowConsumer).toBe('disconnect');
    expect(loadConfig({ SLOW_CONSUMER: 'drop' }).slowConsumer).toBe('drop');
    expect(problemsOf({ SLOW_CONSUMER: 'Drop' })).toEqual(['`SLOW_CONSUMER` must be one of disconnect, drop, got `Drop`']);
  });

  it('REDIS_URL must be redis:// or rediss://', () => {
    expect(loadConfig({ REDIS_URL: 'rediss://h:1' }).redisUrl).toBe('rediss://h:1');
    expect(problemsOf({ REDIS_URL: 'http://h:1' })).toEqual(['`REDIS_URL` must look like redis://host:port, got `http://h:1`']);
  });

  it('PUBLISH_TOKEN needs at least 16 characters and no whitespace or control character, and is never echoed', () => {
    expect(loadConfig({ PUBLISH_TOKEN: 'p'.repeat(16) }).publishToken).toBe('p'.repeat(16));
    expect(problemsOf({ PUBLISH_TOKEN: 'short-secret-15' })).toEqual(['`PUBLISH_TOKEN` must be at least 16 characters, got 15']);
    for (const [token, at] of [['my publish token-xyz', 3], [' leading-space-token-0123', 1], ['trailing-space-token-0123 ', 26], ['tab\tin-the-token-0123456', 4], ['nul\u0000in-the-token-0123456', 4], ['nbsp\u00a0in-the-token-0123', 5]] as const) {
      const problems = problemsOf({ PUBLISH_TOKEN: token });
      expect(problems, JSON.stringify(token)).toEqual([
        `\`PUBLISH_TOKEN\` must not contain whitespace or control characters (it is sent as Authorization: Bearer <token>), found one at character ${at}`,
      ]);
    }
  });

  it('JWT_SECRET needs at least 32 characters', () => {
    expect(loadConfig({ JWT_SECRET: SECRET_32 }).jwtSecret).toBe(SECRET_32);
    expect(problemsOf({ JWT_SECRET: 'x'.repeat(31) })).toEqual(['`JWT_SECRET` must be at least 32 characters for HS256, got 31']);
  });

  it('DEBUG_FAULTS accepts 0 and 1 only', () => {
    expect(loadConfig({ DEBUG_FAULTS: '0' }).debugFaults).toBe(false);
    expect(problemsOf({ DEBUG_FAULTS: 'yes' })).toEqual(['`DEBUG_FAULTS` must be one of 0, 1, got `yes`']);
  });
});

describe('COMPRESSION', () => {
  it('is gzip or off, off by default; anything else stops the server with the variable named', () => {
    expect(loadConfig({}).compression).toBe('off');
    expect(loadConfig({ COMPRESSION: 'off' }).compression).toBe('off');
    expect(loadConfig({ COMPRESSION: 'gzip' }).compression).toBe('gzip');
    expect(() => loadConfig({ COMPRESSION: 'br' })).toThrow(/COMPRESSION/);
  });
});

describe('durability', () => {
  it('DATA_DIR unset is ./data; set empty is memory only, whatever DURABILITY says but fsync', () => {
    expect(loadConfig({})).toMatchObject({ dataDir: './data', durability: 'write' });
    expect(loadConfig({ DATA_DIR: '' })).toMatchObject({ dataDir: undefined, durability: 'memory' });
    expect(loadConfig({ DATA_DIR: '/var/lib/sse', DURABILITY: 'memory' })).toMatchObject({ dataDir: undefined, durability: 'memory' });
    expect(() => loadConfig({ DATA_DIR: '', DURABILITY: 'fsync' })).toThrow(/`DURABILITY=fsync` needs a `DATA_DIR`/);
  });

  it('IDEMPOTENCY_WINDOW takes a duration of at least 1s (0 would let a retry publish twice); IDEMPOTENCY_MAX_KEYS an integer', () => {
    expect(loadConfig({ IDEMPOTENCY_WINDOW: '90s' }).idempotencyWindowMs).toBe(90_000);
    expect(() => loadConfig({ IDEMPOTENCY_WINDOW: '0' })).toThrow(/`IDEMPOTENCY_WINDOW` must be a duration of at least 1s, like 90s, 30m, 24h or 7d, got `0`/);
    expect(() => loadConfig({ IDEMPOTENCY_WINDOW: '1 day' })).toThrow(/`IDEMPOTENCY_WINDOW` must be a duration like 90s/);
    expect(loadConfig({ IDEMPOTENCY_MAX_KEYS: '5' }).idempotencyMaxKeys).toBe(5);
    expect(() => loadConfig({ IDEMPOTENCY_MAX_KEYS: '0' })).toThrow(/`IDEMPOTENCY_MAX_KEYS` must be an integer from 1 to 10000000, got `0`/);
  });

  it('HISTORY_MAX_AGE takes a duration with its unit, or 0', () => {
    expect(loadConfig({ HISTORY_MAX_AGE: '24h' }).historyMaxAgeMs).toBe(86_400_000);
    expect(loadConfig({ HISTORY_MAX_AGE: '90s' }).historyMaxAgeMs).toBe(90_000);
    expect(loadConfig({ HISTORY_MAX_AGE: '0' }).historyMaxAgeMs).toBe(0);
    expect(() => loadConfig({ HISTORY_MAX_AGE: '24' })).toThrow(/`HISTORY_MAX_AGE` must be a duration like 90s, 30m, 24h or 7d, or 0, got `24`/);
  });
});
