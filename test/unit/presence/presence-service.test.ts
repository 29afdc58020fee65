// Presence in the main thread: shard counts and other servers' snapshots feed one table; $presence
// itself is not announced; in a cluster only the live server with the smallest id announces.
import { afterEach, describe, expect, it } from 'vitest';
import { PresenceService } from '../../../src/presence/presence-service.js';

describe('PresenceService', () => {
  const services: PresenceService[] = [];
  afterEach(() => services.splice(0).forEach((s) => s.stop()));
  const make = (serverId = 'm'): { s: PresenceService; sent: Array<[string, number]> } => {
    const sent: Array<[string, number]> = [];
    const s = new PresenceService(1_000, (t, n) => sent.push([t, n]), serverId);
    services.push(s);
    return { s, sent };
  };

  it('aggregates shards, drops a gone shard, announces changes but not $presence itself', () => {
    const { s, sent } = make();
    s.shardChanged('shard:0/1', [['a', 2], ['$presence', 1]]);
    s.shardChanged('shard:1/2', [['b', 1]]);
    expect([s.subscribers('a'), s.subscribers('$presence')]).toEqual([2, 1]);
    expect(sent).toEqual([['a', 2], ['b', 1]]);
    s.shardGone('shard:0/1');
    expect(s.subscribers('a')).toBe(0);
  });

  it('adds other servers, forgets those no longer live, and reports only its own counts for Redis', () => {
    const { s } = make('m');
    s.shardChanged('shard:0', [['a', 1]]);
    s.cluster({ others: new Map([['x', new Map([['a', 4]])]]), live: ['m', 'x'] });
    expect(s.subscribers('a')).toBe(5);
    expect(s.ownCounts()).toEqual(new Map([['a', 1]]));
    s.cluster({ others: new Map(), live: ['m'] });
    expect(s.subscribers('a')).toBe(1);
  });

  it('announces nothing while nobody, on any server, subscribes to $presence', () => {
    const { s, sent } = make('m');
    s.shardChanged('shard:0', [['a', 1]]);
    expect(sent).toEqual([]);
    s.cluster({ others: new Map([['x', new Map([['$presence', 1]])]]), live: ['m', 'x'] });
    s.shardChanged('shard:0', [['b', 1]]);
    expect(sent).toEqual([['b', 1]]);
  });

  it('keeps no interval per topic unless it is the server that announces', () => {
    const { s } = make('m');
    s.cluster({ others: new Map([['k', new Map([['$presence', 1]])]]), live: ['m', 'k'] }); // k < m: k announces
    s.shardChanged('shard:0', [['a', 1], ['b', 1]]);
    expect(s.waiting).toBe(0);
    s.cluster({ others: new Map([['x', new Map([['$presence', 1]])]]), live: ['m', 'x'] });
    s.shardChanged('shard:0', [['a', 2]]);
    expect(s.waiting).toBe(1);
  });

  it('announces the last count of an interval that began before it knew of a $presence watcher', async () => {
    const sent: Array<[string, number]> = [];
    const s = new PresenceService(50, (t, n) => sent.push([t, n]), 'm');
    services.push(s);
    s.shardChanged('shard:1', [['storm', 1]]); // another shard's changes arrive first
    s.shardChanged('shard:1', [['storm', 0]]);
    s.shardChanged('shard:0', [['$presence', 1]]); // the watcher, subscribed before the storm
    await expect.poll(() => sent, { timeout: 2_000 }).toEqual([['storm', 0]]);
  });

  it('in a cluster only the live server with the smallest id announces', () => {
    const { s, sent } = make('m');
    s.shardChanged('shard:0', [['$presence', 1]]);
    s.cluster({ others: new Map(), live: ['m', 'k'] }); // k < m: k announces
    s.shardChanged('shard:0', [['a', 1]]);
    expect(sent).toEqual([]);
    s.cluster({ others: new Map(), live: ['m'] }); // k died: m takes over
    s.shardChanged('shard:0', [['b', 1]]);
    expect(sent).toEqual([['b', 1]]);
  });
});
