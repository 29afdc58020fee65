// Counters every thread can read, in one SharedArrayBuffer: a row of slots per shard (each row has a
// single writer, its shard, so plain stores suffice) and a few server-wide slots updated with Atomics.
// The main thread renders them as Prometheus text, whichever shard was asked for /metrics.

/** Per-shard slots (Float64). Counters only grow; gauges go up and down. */
export const SHARD_SLOT = {
  CONNECTIONS: 0, // gauge
  DELIVERIES: 1, // event deliveries written to connections
  BYTES_SENT: 2,
  SLOW_DISCONNECTED: 3,
  SLOW_DROPPED: 4, // events skipped for slow consumers under SLOW_CONSUMER=drop
  QUEUED_BYTES: 5, // gauge: bytes held for backpressured connections
  QUEUED_BYTES_PEAK: 6, // gauge: the most one connection ever had queued
  FANOUT_PASSES: 7, // batches joining fan-out: a pass, or a pass growing at a segment boundary
  FANOUT_EVENTS: 8,
  SEGMENTS: 9,
  SEGMENT_SECONDS: 10,
  REPLAYED_EVENTS: 11,
  RESETS: 12,
  HEARTBEATS: 13,
  SHED_CONNECTIONS: 14,
  JWT_EXPIRED: 15,
  BYTES_SENT_UNCOMPRESSED: 16, // what BYTES_SENT carried before compression (equal for identity streams)
  EVENT_LOG_DOWN: 17, // cluster mode, 1 while this shard's own connection to Redis (its publishes) is not ready
  RESUME_WAITERS: 18, // gauge: streams waiting for the shard to reach their Last-Event-ID
} as const;
export const SHARD_SLOTS = 19;

/** Server-wide slots (Int32, Atomics). */
export const GLOBAL_SLOT = {
  CONNECTIONS: 0, // admitted streams across all shards, checked against MAX_CONNECTIONS
  DRAINING: 1, // 1 once shutdown began
  DEGRADED: 2, // 1 while the main thread cannot use the event log: its Redis connections (cluster mode), or the DATA_DIR log cannot be written
  PHASE: 3, // index in PHASES (src/handover/phase.ts): serving, handing over, draining
} as const;
export const GLOBAL_SLOTS = 4;

export interface SharedCounters {
  readonly shardRows: number;
  readonly perShard: Float64Array;
  readonly global: Int32Array;
  /** [0]: the newest sequence number claimed on this server (SharedSequence) */
  readonly position: BigInt64Array;
  /** cluster mode: the epoch the main thread reads from Redis and the highest seq seen there (EpochView) */
  readonly redisEpoch: BigInt64Array;
  readonly buffer: SharedArrayBuffer;
}

export function createSharedCounters(shardRows: number): SharedCounters {
  const buffer = new SharedArrayBuffer(8 * SHARD_SLOTS * shardRows + 4 * GLOBAL_SLOTS + 8 + 16);
  return attachSharedCounters(buffer, shardRows);
}

export function attachSharedCounters(buffer: SharedArrayBuffer, shardRows: number): SharedCounters {
  const globalAt = 8 * SHARD_SLOTS * shardRows;
  return {
    shardRows,
    buffer,
    perShard: new Float64Array(buffer, 0, SHARD_SLOTS * shardRows),
    global: new Int32Array(buffer, globalAt, GLOBAL_SLOTS),
    position: new BigInt64Array(buffer, globalAt + 4 * GLOBAL_SLOTS, 1),
    redisEpoch: new BigInt64Array(buffer, globalAt + 4 * GLOBAL_SLOTS + 8, 2),
  };
}

/**
 * The threads that cannot reach the event log (Redis) now, by name: the main thread's connections
 * and each shard's own. A publish lands on whichever thread's connection took the request, so the
 * server is healthy only when none is listed.
 */
export function eventLogDown(shared: SharedCounters): string[] {
  const down = Atomics.load(shared.global, GLOBAL_SLOT.DEGRADED) === 1 ? ['main thread'] : [];
  for (let s = 0; s < shared.shardRows; s++) if (shared.perShard[s * SHARD_SLOTS + SHARD_SLOT.EVENT_LOG_DOWN] === 1) down.push(`shard ${s}`);
  return down;
}

/** One shard's writable row. */
export class ShardCounters {
  private readonly row: Float64Array;
  constructor(private readonly shared: SharedCounters, readonly shard: number) {
    this.row = shared.perShard.subarray(shard * SHARD_SLOTS, (shard + 1) * SHARD_SLOTS);
  }
  add(slot: number, n = 1): void {
    this.row[slot]! += n;
  }
  set(slot: number, value: number): void {
    this.row[slot] = value;
  }
  get(slot: number): number {
    return this.row[slot]!;
  }
  /** Admits a stream if the server-wide count stays within `max`. */
  tryAdmit(max: number): boolean {
    if (Atomics.add(this.shared.global, GLOBAL_SLOT.CONNECTIONS, 1) < max) return true;
    Atomics.sub(this.shared.global, GLOBAL_SLOT.CONNECTIONS, 1);
    return false;
  }
  release(n = 1): void {
    Atomics.sub(this.shared.global, GLOBAL_SLOT.CONNECTIONS, n);
  }
  get sharedGlobal(): Int32Array {
    return this.shared.global;
  }
  flag(slot: number): number {
    return Atomics.load(this.shared.global, slot);
  }
  eventLogDown(): string[] {
    return eventLogDown(this.shared);
  }
}
