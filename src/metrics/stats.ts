// GET /stats: the live figures the console charts, sampled once a second in the main thread from the
// shared counters and the publish-latency histogram, so every console sees the same window and no
// request does more than read the last sample.
import type { Histogram } from 'prom-client';
import { SHARD_SLOT, SHARD_SLOTS, type SharedCounters } from '../threads/shared-counters.js';

export interface StatsSample {
  /** ms since the epoch */
  at: number;
  connections: number;
  shards: Array<{ shard: number; connections: number; queuedBytes: number }>;
  eventsPerSec: number;
  deliveriesPerSec: number;
  queuedBytes: number;
  slowDisconnects: number;
  /** p99 publish latency over the last second (ms, a histogram bucket's upper bound), null without publishes */
  p99PublishMs: number | null;
  topics: number;
}

type Buckets = Array<[le: number, cumulative: number]>;

/** The upper bound of the bucket holding quantile `q` of what happened between `before` and `now` (cumulative buckets, same bounds). */
export function quantileFromBuckets(before: Buckets, now: Buckets, q: number): number | null {
  const counts = now.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const);
  const total = counts[counts.length - 1]?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (const [le, n] of counts) if (n >= rank) return le;
  return Infinity;
}

export class StatsSampler {
  private last: { at: number; published: number; deliveries: number; buckets: Buckets } | undefined;
  private current: StatsSample;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly shared: SharedCounters,
    private readonly publishLatency: Histogram,
    private readonly published: () => number,
    private readonly topics: () => number,
  ) {
    this.current = this.empty();
    this.timer = setInterval(() => void this.sample(), 1_000);
    this.timer.unref();
    void this.sample();
  }

  get latest(): StatsSample {
    return this.current;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private empty(): StatsSample {
    return { at: Date.now(), connections: 0, shards: [], eventsPerSec: 0, deliveriesPerSec: 0, queuedBytes: 0, slowDisconnects: 0, p99PublishMs: null, topics: 0 };
  }

  private async sample(): Promise<void> {
    const at = Date.now();
    const { perShard, shardRows } = this.shared;
    const shards: StatsSample['shards'] = [];
    let connections = 0;
    let deliveries = 0;
    let queuedBytes = 0;
    let slowDisconnects = 0;
    for (let s = 0; s < shardRows; s++) {
      const row = s * SHARD_SLOTS;
      const c = perShard[row + SHARD_SLOT.CONNECTIONS]!;
      const q = perShard[row + SHARD_SLOT.QUEUED_BYTES]!;
      shards.push({ shard: s, connections: c, queuedBytes: q });
      connections += c;
      queuedBytes += q;
      deliveries += perShard[row + SHARD_SLOT.DELIVERIES]!;
      slowDisconnects += perShard[row + SHARD_SLOT.SLOW_DISCONNECTED]!;
    }
    const values = (await this.publishLatency.get()).values;
    const buckets: Buckets = values
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((v) => [v.labels['le'] === '+Inf' ? Infinity : Number(v.labels['le']), v.value] as [number, number]);
    const published = this.published();
    const last = this.last;
    const seconds = last === undefined ? 1 : Math.max(0.001, (at - last.at) / 1000);
    const p99 = last === undefined ? null : quantileFromBuckets(last.buckets, buckets, 0.99);
    this.current = {
      at,
      connections,
      shards,
      eventsPerSec: last === undefined ? 0 : (published - last.published) / seconds,
      deliveriesPerSec: last === undefined ? 0 : (deliveries - last.deliveries) / seconds,
      queuedBytes,
      slowDisconnects,
      p99PublishMs: p99 === null ? null : p99 * 1000,
      topics: this.topics(),
    };
    this.last = { at, published, deliveries, buckets };
  }
}
