// Presence across servers (cluster mode). Every REFRESH_MS each server replaces its own hash
// `sse:presence:<serverId>` (topic -> streams on this server) and gives it a TTL of TTL_MS, records
// itself in the sorted set `sse:presence:servers` (score: the time), then reads the hashes of every
// server seen within TTL_MS. A server that dies without a word (SIGKILL) stops refreshing: its hash
// expires and its counts leave everyone's totals within TTL_MS + REFRESH_MS.
import type { Redis } from 'ioredis';
import { openRedis } from '../sequencing/redis-connection.js';

export const REFRESH_MS = 1_000;
export const TTL_MS = 5_000;
const SERVERS = 'sse:presence:servers';
const hashOf = (serverId: string): string => `sse:presence:${serverId}`;

/** What a round read from Redis: every other live server's counts, and the live servers' ids (this one included). */
export interface ClusterSnapshot {
  others: Map<string, Map<string, number>>;
  live: string[];
}

export class RedisPresence {
  private readonly redis: Redis;
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    url: string,
    readonly serverId: string,
    private readonly own: () => ReadonlyMap<string, number>,
    private readonly onSnapshot: (snapshot: ClusterSnapshot) => void,
  ) {
    this.redis = openRedis(url, () => {}); // the event log reports Redis health
  }

  async start(): Promise<void> {
    await this.redis.connect();
    this.running = true;
    await this.round();
    this.schedule();
  }

  /** Graceful stop: this server's counts leave the cluster at once instead of after the TTL. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    try {
      await this.redis.multi().del(hashOf(this.serverId)).zrem(SERVERS, this.serverId).exec();
    } catch {
      // Redis away: the TTL removes it
    }
    this.redis.disconnect();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => void this.round().finally(() => this.schedule()), REFRESH_MS);
    this.timer.unref();
  }

  /** Write this server's counts, then read everyone's. Errors (Redis away) skip the round. */
  private async round(): Promise<void> {
    try {
      const now = Date.now();
      const key = hashOf(this.serverId);
      const tx = this.redis.multi().del(key);
      const own = this.own();
      if (own.size > 0) tx.hset(key, Object.fromEntries(own));
      else tx.hset(key, '', '0'); // an empty hash does not exist: keep the key, so the server counts as live
      await tx.pexpire(key, TTL_MS).zadd(SERVERS, now, this.serverId).zremrangebyscore(SERVERS, '-inf', now - TTL_MS).exec();
      const live = await this.redis.zrange(SERVERS, 0, -1);
      const others = live.filter((id) => id !== this.serverId);
      const pipe = this.redis.pipeline();
      for (const id of others) pipe.hgetall(hashOf(id));
      const replies = others.length === 0 ? [] : ((await pipe.exec()) ?? []);
      const snapshot: ClusterSnapshot = { others: new Map(), live: [this.serverId] };
      others.forEach((id, i) => {
        const [err, hash] = replies[i] ?? [null, null];
        if (err !== null || hash === null || Object.keys(hash as object).length === 0) return; // expired: not live
        const counts = new Map<string, number>();
        for (const [t, n] of Object.entries(hash as Record<string, string>)) if (t !== '' && Number(n) > 0) counts.set(t, Number(n));
        snapshot.others.set(id, counts);
        snapshot.live.push(id);
      });
      if (this.running) this.onSnapshot(snapshot);
    } catch {
      // Redis unreachable: keep the last totals; the other servers' keys expire meanwhile
    }
  }
}
