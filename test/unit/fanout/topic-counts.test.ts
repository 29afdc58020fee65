// One shard's streams per topic: exact under any interleaving of joins and leaves, and its changes
// come out as absolute counts, once per topic, with one onDirty call per collection.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deliverChanges, TopicCounts } from '../../../src/fanout/topic-counts.js';

describe('TopicCounts', () => {
  it('counts joins and leaves per topic and forgets topics at 0', () => {
    const c = new TopicCounts();
    c.add(['a', 'b']);
    c.add(['a']);
    expect([c.get('a'), c.get('b'), c.size]).toEqual([2, 1, 2]);
    c.remove(['a', 'b']);
    expect([c.get('a'), c.get('b'), c.size]).toEqual([1, 0, 1]);
  });

  it('takeChanges gives the absolute count of each changed topic once (0 for gone), and calls onDirty once per collection', () => {
    const c = new TopicCounts();
    let dirty = 0;
    c.onDirty = () => dirty++;
    c.add(['a']);
    c.add(['a', 'b']);
    c.remove(['b']);
    expect(dirty).toBe(1);
    expect(c.takeChanges().sort()).toEqual([
      ['a', 2],
      ['b', 0],
    ]);
    expect(c.takeChanges()).toEqual([]);
    c.remove(['a']);
    expect(dirty).toBe(2);
    expect(c.takeChanges()).toEqual([['a', 1]]);
  });

  it('any sequence of joins and the matching leaves, in any order, ends at 0 everywhere', () => {
    fc.assert(
      fc.property(fc.array(fc.subarray(['a', 'b', 'c', 'd'], { minLength: 1 }), { maxLength: 50 }), fc.infiniteStream(fc.boolean()), (streams, coin) => {
        const c = new TopicCounts();
        const open: string[][] = [];
        for (const s of streams) {
          c.add(s);
          open.push(s);
          if (coin.next().value && open.length > 0) c.remove(open.shift()!);
        }
        const expected = new Map<string, number>();
        for (const s of open) for (const t of s) expected.set(t, (expected.get(t) ?? 0) + 1);
        for (const t of ['a', 'b', 'c', 'd']) expect(c.get(t)).toBe(expected.get(t) ?? 0);
        for (const s of open) c.remove(s);
        expect(c.size).toBe(0);
      }),
    );
  });
});

describe('deliverChanges', () => {
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('hands over streams joining turn after turn in fewer messages than turns, with the absolute counts', async () => {
    const c = new TopicCounts();
    const delivered = new Map<string, number>();
    let messages = 0;
    deliverChanges(
      c,
      (changes) => {
        messages++;
        for (const [t, n] of changes) delivered.set(t, n);
      },
      60_000,
    );
    for (let i = 0; i < 100; i++) {
      c.add(['all', `t${i % 10}`]);
      await turn();
    }
    // the first change goes at once; the other 99 turns wait for the window
    expect(messages).toBe(1);
    expect(delivered.get('all')).toBe(1);
  });
});
