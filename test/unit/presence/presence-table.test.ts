// The main thread's presence: totals over sources, a dropped source takes its counts, and the
// listing is sorted, prefixed and paginated by cursor.
import { describe, expect, it } from 'vitest';
import { PresenceTable } from '../../../src/presence/presence-table.js';

describe('PresenceTable', () => {
  it('sums sources and reports which totals changed', () => {
    const t = new PresenceTable();
    expect(t.apply('s0', [['a', 2], ['b', 1]]).sort()).toEqual(['a', 'b']);
    expect(t.apply('s1', [['a', 3]])).toEqual(['a']);
    expect(t.apply('s1', [['a', 3]])).toEqual([]); // no change
    expect([t.total('a'), t.total('b'), t.size]).toEqual([5, 1, 2]);
    expect(t.apply('s0', [['b', 0]])).toEqual(['b']);
    expect([t.total('b'), t.size]).toEqual([0, 1]);
  });

  it('a dropped source (a replaced shard, an expired server) takes its counts with it', () => {
    const t = new PresenceTable();
    t.apply('shard:0/1', [['a', 2]]);
    t.apply('shard:1/2', [['a', 1], ['c', 4]]);
    expect(t.drop('shard:1/2').sort()).toEqual(['a', 'c']);
    expect([t.total('a'), t.total('c')]).toEqual([2, 0]);
    expect(t.sources()).toEqual(['shard:0/1']);
  });

  it('replace sets a whole snapshot: topics missing from it fall to 0', () => {
    const t = new PresenceTable();
    t.replace('server:x', new Map([['a', 1], ['b', 2]]));
    t.replace('server:x', new Map([['b', 5]]));
    expect([t.total('a'), t.total('b')]).toEqual([0, 5]);
  });

  it('totalsOf sums only the sources asked for (this server, for Redis)', () => {
    const t = new PresenceTable();
    t.apply('shard:0', [['a', 1]]);
    t.apply('shard:1', [['a', 2]]);
    t.apply('server:other', [['a', 7]]);
    expect(t.totalsOf((s) => !s.startsWith('server:'))).toEqual(new Map([['a', 3]]));
  });

  it('lists by name with prefix, limit and cursor; next is the last name returned, null at the end', () => {
    const t = new PresenceTable();
    t.apply('s', ['b/2', 'a', 'b/1', 'b/3', 'c'].map((n, i) => [n, i + 1] as [string, number]));
    expect(t.list('b/', 2, undefined)).toEqual({ topics: [{ topic: 'b/1', subscribers: 3 }, { topic: 'b/2', subscribers: 1 }], next: 'b/2' });
    expect(t.list('b/', 2, 'b/2')).toEqual({ topics: [{ topic: 'b/3', subscribers: 4 }], next: null });
    expect(t.list('', 5, undefined).next).toBeNull();
    expect(t.list('', 4, undefined).next).toBe('b/3');
    expect(t.list('zzz', 10, undefined)).toEqual({ topics: [], next: null });
  });

  it('lists only the visible topics: hidden ones take no place in a page and never end one (next)', () => {
    const t = new PresenceTable();
    t.apply('s', ['A.1', 'B.1', 'A.2', 'B.2', 'B.3'].map((n) => [n, 1] as [string, number]));
    const visible = (topic: string): boolean => topic.startsWith('A.');
    expect(t.list('', 2, undefined, visible)).toEqual({ topics: [{ topic: 'A.1', subscribers: 1 }, { topic: 'A.2', subscribers: 1 }], next: null });
    expect(t.list('', 1, undefined, visible)).toEqual({ topics: [{ topic: 'A.1', subscribers: 1 }], next: 'A.1' });
    expect(t.list('B', 10, undefined, visible)).toEqual({ topics: [], next: null });
    expect(t.list('', 10, undefined, () => false)).toEqual({ topics: [], next: null });
  });
});
