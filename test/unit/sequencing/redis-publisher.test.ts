// EpochView: the epoch and the seq seen, shared by every thread's publisher through shared memory;
// and a publisher that has published nothing itself (a new shard) still passes the seq its server
// has seen, so a Redis restored from an older snapshot starts a new epoch for it too.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisEventLog } from '../../../src/sequencing/redis-event-log.js';
import { EpochView, RedisPublisher } from '../../../src/sequencing/redis-publisher.js';
import { createSharedCounters } from '../../../src/threads/shared-counters.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

describe('EpochView', () => {
  it('starts with no epoch on the server\'s shared counters; what one view moves to or sees, another view on the same cells reads', () => {
    const cells = createSharedCounters(1).redisEpoch; // what the server passes
    const main = new EpochView(cells);
    const shard = new EpochView(cells);
    expect(shard.epoch).toBeUndefined();
    expect(shard.args().slice(1)).toEqual(['', '0']);
    main.moveTo('00ab12cd34ef', 5);
    expect(shard.args().slice(1)).toEqual(['00ab12cd34ef', '5']);
    expect(shard.saw('00ab12cd34ef', 9)).toBe(true);
    expect(main.seen).toBe(9);
  });

  it('an epoch of all zeros is an epoch, not none', () => {
    const view = new EpochView();
    view.moveTo('000000000000', 3);
    expect(view.epoch).toBe('000000000000');
    expect(view.saw('000000000000', 4)).toBe(true);
    expect(view.args().slice(1)).toEqual(['000000000000', '4']);
  });

  it('the seq seen only rises, and only for the epoch in view', () => {
    const view = new EpochView();
    view.moveTo('aaaaaaaaaaaa', 10);
    expect(view.saw('aaaaaaaaaaaa', 3)).toBe(true);
    expect(view.seen).toBe(10);
    expect(view.saw('bbbbbbbbbbbb', 50)).toBe(false);
    expect(view.seen).toBe(10);
    view.moveTo('bbbbbbbbbbbb', 0);
    expect(view.args().slice(1)).toEqual(['bbbbbbbbbbbb', '0']);
  });

  it('draws a new candidate epoch once Redis took the one offered', () => {
    const view = new EpochView();
    const [candidate] = view.args();
    view.noteEpoch('ffffffffffff');
    expect(view.args()[0]).toBe(candidate);
    view.noteEpoch(candidate!);
    expect(view.args()[0]).not.toBe(candidate);
  });
});

describe('RedisPublisher beside the main thread’s log', () => {
  let redis: RedisServer;
  const closers: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    redis = await startRedisServer({ persist: true });
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    await redis?.stop();
  });

  it('a publisher that has published nothing passes the seq its server has seen: after a restore it gets a new epoch, not an id given out before', async () => {
    const cells = createSharedCounters(1).redisEpoch;
    const log = new RedisEventLog(redis.url, { maxLen: 1_000, onHealth: () => {}, epochCells: cells });
    closers.push(() => log.stop());
    await log.connect();
    await log.start(() => {});
    const [kept] = await log.publish([{ topic: 't', data: 'kept' }]);
    const snapshot = redis.snapshot();
    const lost = await log.publish([{ topic: 't', data: 'lost 1' }, { topic: 't', data: 'lost 2' }]);
    await redis.stop();
    await redis.start({ from: snapshot });
    const shard = new RedisPublisher(redis.url, 1_000, new EpochView(cells));
    closers.push(() => shard.stop());
    await shard.connection.connect();
    const [fresh] = await shard.publish([{ topic: 't', data: 'after the restore' }]);
    expect([kept, ...lost]).not.toContain(fresh);
    expect(fresh!.split('-')[0]).not.toBe(kept!.split('-')[0]);
  });
});
