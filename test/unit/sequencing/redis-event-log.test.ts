// RedisEventLog against a real redis-server (Debian's): one global order, publishes of one turn in
// one script call with each request's ids consecutive, the retained stream read back in order, and
// a counter that went backwards (a restore from an older snapshot) starting a new epoch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoggedEvent } from '../../../src/sequencing/redis-event-log.js';
import { RedisEventLog } from '../../../src/sequencing/redis-event-log.js';
import { startRedisServer, type RedisServer } from '../../support/redis-server.js';

let redis: RedisServer;
const logs: RedisEventLog[] = [];

async function connected(): Promise<{ log: RedisEventLog; read: LoggedEvent[] }> {
  const log = new RedisEventLog(redis.url, { maxLen: 1_000, onHealth: () => {} });
  logs.push(log);
  await log.connect();
  const read: LoggedEvent[] = [];
  await log.start((events) => read.push(...events));
  return { log, read };
}

const seqOf = (id: string): number => Number(id.split('-')[1]);
const until = async (check: () => boolean, what: string): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

beforeAll(async () => {
  redis = await startRedisServer({ persist: true });
});
afterAll(async () => {
  await Promise.all(logs.map((l) => l.stop()));
  await redis?.stop();
});

describe('RedisEventLog', () => {
  it('publishes made in one turn get consecutive ids per request, in request order, and are read back in that order', async () => {
    const { log, read } = await connected();
    const [a, b, c] = await Promise.all([
      log.publish([{ topic: 't', data: 'a1' }, { topic: 't', data: 'a2' }]),
      log.publish([{ topic: 'u', data: 'b1', event: 'named' }]),
      log.publish([{ topic: 't', data: 'c1' }, { topic: 't', data: 'c2' }, { topic: 't', data: 'c3' }]),
    ]);
    const seqs = [...a!, ...b!, ...c!].map(seqOf);
    expect(seqs).toEqual(Array.from({ length: 6 }, (_, i) => seqs[0]! + i));
    expect(new Set([...a!, ...b!, ...c!].map((id) => id.split('-')[0])).size).toBe(1);
    await until(() => read.length >= 6, 'the six events read back');
    expect(read.slice(-6).map((e) => [e.seq, e.item.data, e.item.event])).toEqual([
      [seqs[0], 'a1', undefined],
      [seqs[1], 'a2', undefined],
      [seqs[2], 'b1', 'named'],
      [seqs[3], 'c1', undefined],
      [seqs[4], 'c2', undefined],
      [seqs[5], 'c3', undefined],
    ]);
  });

  it('a second log on the same Redis continues the same sequence and reads the retained stream from its start', async () => {
    const first = await connected();
    const [before] = await first.log.publish([{ topic: 't', data: 'before' }]);
    const second = await connected();
    const [after] = await second.log.publish([{ topic: 't', data: 'after' }]);
    expect(seqOf(after!)).toBe(seqOf(before!) + 1);
    await until(() => second.read.some((e) => e.item.data === 'after'), 'the second log to read its own event');
    expect(second.read.map((e) => e.seq)).toEqual([...second.read.map((e) => e.seq)].sort((x, y) => x - y));
    expect(second.read.some((e) => e.item.data === 'before')).toBe(true);
  });

  it('a counter below what a server has seen (Redis restored from an older snapshot) starts a new epoch', async () => {
    const { log } = await connected();
    const [kept] = await log.publish([{ topic: 't', data: 'kept' }]);
    const snapshot = redis.snapshot();
    await log.publish([{ topic: 't', data: 'lost' }]);
    await redis.stop();
    await redis.start({ from: snapshot });
    let id: string | undefined;
    await until(() => {
      log.publish([{ topic: 't', data: 'after restore' }]).then(([x]) => (id = x), () => {});
      return id !== undefined;
    }, 'a publish after the restore');
    expect(id!.split('-')[0]).not.toBe(kept!.split('-')[0]);
  });
});
