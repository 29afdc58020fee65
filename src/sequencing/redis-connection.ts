// Cluster mode: one way to open a connection to Redis, for every thread's publisher, the main
// thread's reader and presence. While Redis is away nothing queues in memory (a publish answers
// 503); when it returns, every connection is back within RETRY_CAP_MS.
import { Redis, type RedisOptions } from 'ioredis';

/** The longest wait between two attempts to reach Redis, however long it was away (ms). */
const RETRY_CAP_MS = 250;
/**
 * A connection whose socket is open but that has no answer from Redis after this long (ms) is
 * dropped and dialled again: ioredis waits for its ready check without a limit, and a port held by
 * something that is not Redis (or a Redis still loading) would hold the connection there for good.
 */
const HANDSHAKE_MS = 2_000;

export const REDIS_OPTIONS: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: 2_000,
  connectTimeout: 2_000,
  retryStrategy: (attempt: number) => Math.min(50 * attempt, RETRY_CAP_MS),
  lazyConnect: true,
};

/**
 * A connection (not yet connecting: call connect()) that reports whether it is ready each time
 * that changes. Errors are reported through `onReady(false)`, never thrown as unhandled events.
 */
export function openRedis(url: string, onReady: (ready: boolean) => void, overrides: RedisOptions = {}): Redis {
  const connection = new Redis(url, { ...REDIS_OPTIONS, ...overrides });
  let handshake: NodeJS.Timeout | undefined;
  connection.on('error', () => {});
  connection.on('connect', () => {
    clearTimeout(handshake);
    handshake = setTimeout(() => connection.status !== 'ready' && connection.disconnect(true), HANDSHAKE_MS);
  });
  connection.on('ready', () => {
    clearTimeout(handshake);
    onReady(true);
  });
  connection.on('close', () => {
    clearTimeout(handshake);
    onReady(false);
  });
  return connection;
}

/**
 * Resolves once `connection` is ready, or false after `ms`: a publish that arrives while its
 * connection reconnects waits out a short outage instead of failing at once.
 */
export function whenReady(connection: Redis, ms: number): Promise<boolean> {
  if (connection.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean): void => {
      clearTimeout(timer);
      connection.off('ready', onReady);
      resolve(ready);
    };
    const onReady = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    connection.on('ready', onReady);
  });
}
