// Presence across servers (cluster mode). Every REFRESH_MS each server replaces its own hash
// `sse:presence:<serverId>` (topic -> streams on this server) and gives it a TTL of TTL_MS, records
// itself in the sorted set `sse:presence:servers` (score: the time), then reads the hashes of every
// server seen within TTL_MS. A server that dies without a word (SIGKILL) stops refreshing: its hash
// expires and its counts leave everyone's totals within TTL_MS + REFRESH_MS.
// A hash is rewritten only when its server's counts changed, and read only when its version key
// (`sse:presence:version:<serverId>`, same TTL) says so: with 10,000 topics on 7 servers, rewriting
// and rereading every hash every second cost each server more CPU than holding 14,000 idle streams.
import type { Redis } from 'ioredis';
import { openRedis } from '../sequencing/redis-connection.js';

export const REFRESH_MS = 1_000;
export const TTL_MS = 5_000;
const SERVERS = 'sse:presence:servers';
const hashOf = (serverId: string): string => `sse:presence:${serverId}`;
const versionOf = (serverId: string): string => `sse:presence:version:${serverId}`;

/** What a round read from Redis: every other live server's counts, and the live servers' ids (this one included). */
export interface ClusterSnapshot {
  others: Map<string, Map<string, number>>;
  live: string[];
}

export class RedisPresence {
  private readonly redis: Redis;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** the own counts' version last written (-1: write them whole in the next round) */
  private written = -1;
  /** the other servers' counts as last read, with the version they were read at */
  private readonly read = new Map<string, { version: string; counts: Map<string, number> }>();

  constructor(
    url: string,
    readonly serverId: string,
    private readonly own: () => ReadonlyMap<string, number>,
    /** changes whenever `own()` would answer differently */
    private readonly ownVersion: () => number,
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
      await this.redis.multi().del(hashOf(this.serverId), versionOf(this.serverId)).zrem(SERVERS, this.serverId).exec();
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

  /** Write this server's counts if they changed, then read those of the others that changed. Errors (Redis away) skip the round. */
  private async round(): Promise<void> {
    try {
      const now = Date.now();
      const key = hashOf(this.serverId);
      const version = this.ownVersion();
      const rewrite = version !== this.written;
      const tx = this.redis.multi();
      if (rewrite) {
        tx.del(key);
        const own = this.own();
        if (own.size > 0) tx.hset(key, Object.fromEntries(own));
        else tx.hset(key, '', '0'); // an empty hash does not exist: keep the key, so the server counts as live
        tx.set(versionOf(this.serverId), `${version}`, 'PX', TTL_MS);
      } else tx.pexpire(versionOf(this.serverId), TTL_MS);
      const results = await tx.pexpire(key, TTL_MS).zadd(SERVERS, now, this.serverId).zremrangebyscore(SERVERS, '-inf', now - TTL_MS).exec();
      // the hash gone meanwhile (Redis emptied or restarted): PEXPIRE answers 0, write it whole next round
      const kept = results?.[results.length - 3]?.[1] === 1;
      this.written = kept ? version : -1;
      const live = await this.redis.zrange(SERVERS, 0, -1);
      const others = live.filter((id) => id !== this.serverId);
      const versions = others.length === 0 ? [] : await this.redis.mget(others.map(versionOf));
      const stale = others.filter((id, i) => versions[i] === null || this.read.get(id)?.version !== versions[i]);
      const pipe = this.redis.pipeline();
      for (const id of stale) pipe.hgetall(hashOf(id));
      const replies = stale.length === 0 ? [] : ((await pipe.exec()) ?? []);
      stale.forEach((id, i) => {
        this.read.delete(id);
        const [err, hash] = replies[i] ?? [null, null];
        if (err !== null || hash === null || Object.keys(hash as object).length === 0) return; // expired: not live
        const counts = new Map<string, number>();
        for (const [t, n] of Object.entries(hash as Record<string, string>)) if (t !== '' && Number(n) > 0) counts.set(t, Number(n));
        // a hash read without a version key is read again next round
        this.read.set(id, { version: versions[others.indexOf(id)] ?? '', counts });
      });
      for (const id of this.read.keys()) if (!others.includes(id)) this.read.delete(id);
      const snapshot: ClusterSnapshot = { others: new Map(), live: [this.serverId] };
      for (const id of others) {
        const r = this.read.get(id);
        if (r === undefined) continue;
        snapshot.others.set(id, r.counts);
        snapshot.live.push(id);
      }
      if (this.running) this.onSnapshot(snapshot);
    } catch {
      // Redis unreachable: keep the last totals; the other servers' keys expire meanwhile
    }
  }
}
