// Counters in one SharedArrayBuffer: a row per shard, server-wide slots with Atomics. Other threads
// attach to the same buffer; here a second attachment in this thread stands in for a worker's.
import { describe, expect, it } from 'vitest';
import {
  attachSharedCounters,
  createSharedCounters,
  GLOBAL_SLOT,
  SHARD_SLOT,
  SHARD_SLOTS,
  ShardCounters,
} from '../../../src/threads/shared-counters.js';

describe('shared counters', () => {
  it('start at zero', () => {
    const shared = createSharedCounters(3);
    expect(shared.shardRows).toBe(3);
    expect([...shared.perShard].every((v) => v === 0)).toBe(true);
    expect([...shared.global].every((v) => v === 0)).toBe(true);
  });

  it('each shard writes its own row: the others do not move', () => {
    const shared = createSharedCounters(3);
    const rows = [0, 1, 2].map((i) => new ShardCounters(shared, i));
    rows[0]!.add(SHARD_SLOT.DELIVERIES, 5);
    rows[1]!.add(SHARD_SLOT.DELIVERIES);
    rows[1]!.add(SHARD_SLOT.DELIVERIES, 2);
    rows[2]!.set(SHARD_SLOT.QUEUED_BYTES_PEAK, 4096);
    rows[2]!.add(SHARD_SLOT.CONNECTIONS, -1); // gauges go down too
    expect(rows.map((r) => r.get(SHARD_SLOT.DELIVERIES))).toEqual([5, 3, 0]);
    expect(rows.map((r) => r.get(SHARD_SLOT.QUEUED_BYTES_PEAK))).toEqual([0, 0, 4096]);
    expect(rows.map((r) => r.get(SHARD_SLOT.CONNECTIONS))).toEqual([0, 0, -1]);
    // and the values sit where the renderer reads them: row * SHARD_SLOTS + slot
    expect(shared.perShard[1 * SHARD_SLOTS + SHARD_SLOT.DELIVERIES]).toBe(3);
    expect(shared.perShard[2 * SHARD_SLOTS + SHARD_SLOT.QUEUED_BYTES_PEAK]).toBe(4096);
  });

  it('per-shard slots hold fractions (seconds spent in segments)', () => {
    const row = new ShardCounters(createSharedCounters(1), 0);
    row.add(SHARD_SLOT.SEGMENT_SECONDS, 0.25);
    row.add(SHARD_SLOT.SEGMENT_SECONDS, 0.5);
    expect(row.get(SHARD_SLOT.SEGMENT_SECONDS)).toBe(0.75);
  });

  it('tryAdmit admits exactly max streams across two shards, and release gives room back', () => {
    const shared = createSharedCounters(2);
    const a = new ShardCounters(shared, 0);
    const b = new ShardCounters(attachSharedCounters(shared.buffer, 2), 1); // another thread's view
    const admitted: boolean[] = [];
    for (let i = 0; i < 5; i++) admitted.push(a.tryAdmit(7), b.tryAdmit(7));
    expect(admitted.filter(Boolean)).toHaveLength(7);
    expect(admitted.slice(0, 7).every(Boolean)).toBe(true);
    expect(Atomics.load(shared.global, GLOBAL_SLOT.CONNECTIONS)).toBe(7); // refusals leave no trace
    expect(a.tryAdmit(7)).toBe(false);
    b.release();
    expect(a.tryAdmit(7)).toBe(true);
    expect(b.tryAdmit(7)).toBe(false);
    a.release(3);
    expect(Atomics.load(shared.global, GLOBAL_SLOT.CONNECTIONS)).toBe(4);
    expect([1, 2, 3].map(() => b.tryAdmit(7))).toEqual([true, true, true]);
    expect(b.tryAdmit(7)).toBe(false);
  });

  it('attachSharedCounters on the same buffer sees what the creator wrote, and the other way round', () => {
    const mine = createSharedCounters(2);
    const theirs = attachSharedCounters(mine.buffer, 2);
    const writer = new ShardCounters(theirs, 1);
    writer.add(SHARD_SLOT.HEARTBEATS, 11);
    expect(new ShardCounters(mine, 1).get(SHARD_SLOT.HEARTBEATS)).toBe(11);
    Atomics.store(mine.global, GLOBAL_SLOT.DRAINING, 1);
    expect(writer.flag(GLOBAL_SLOT.DRAINING)).toBe(1);
    expect(writer.flag(GLOBAL_SLOT.DEGRADED)).toBe(0);
    expect(writer.sharedGlobal).toBe(theirs.global);
  });

  it('the global slots do not overlap the last shard\'s row', () => {
    const shared = createSharedCounters(2);
    const last = new ShardCounters(shared, 1);
    last.set(SHARD_SLOT.JWT_EXPIRED, 123_456_789); // the last slot of the last row
    expect([...shared.global].every((v) => v === 0)).toBe(true);
    expect(last.tryAdmit(1)).toBe(true);
    expect(last.get(SHARD_SLOT.JWT_EXPIRED)).toBe(123_456_789);
  });
});
