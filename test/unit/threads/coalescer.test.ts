// The Coalescer turns the requests of one event-loop turn into one cross-thread message.
import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../src/threads/coalescer.js';

/** Resolves in the check phase after every setImmediate already queued (immediates run in order). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function recording<T>(): { c: Coalescer<T>; posts: T[][] } {
  const posts: T[][] = [];
  return { c: new Coalescer<T>((items) => posts.push(items)), posts };
}

describe('Coalescer', () => {
  it('posts nothing while the turn that pushes is still running', () => {
    const { c, posts } = recording<number>();
    c.push(1);
    c.push(2);
    expect(posts).toEqual([]);
  });

  it('posts the items pushed in one turn once, in order, in the next check phase', async () => {
    const { c, posts } = recording<string>();
    c.push('a');
    c.push('b');
    c.push('c');
    await turn();
    expect(posts).toEqual([['a', 'b', 'c']]);
    await turn();
    expect(posts).toHaveLength(1); // no empty post afterwards
  });

  it('items pushed in a later turn make a new post with only them', async () => {
    const { c, posts } = recording<number>();
    c.push(1);
    await turn();
    c.push(2);
    c.push(3);
    await turn();
    expect(posts).toEqual([[1], [2, 3]]);
  });

  it('pushes made while the post runs (from its own callback) go to the next post', async () => {
    const posts: number[][] = [];
    const c: Coalescer<number> = new Coalescer<number>((items) => {
      posts.push(items);
      if (items[0] === 1) c.push(99);
    });
    c.push(1);
    await turn();
    await turn();
    expect(posts).toEqual([[1], [99]]);
  });

  describe('with a window', () => {
    const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

    it('the first item after a quiet period still leaves in the next turn', async () => {
      const posts: number[][] = [];
      const c = new Coalescer<number>((items) => posts.push(items), 50);
      c.push(1);
      await turn();
      expect(posts).toEqual([[1]]);
    });

    it('while items keep coming, at most one post per window, nothing lost or reordered', async () => {
      const posts: { at: number; items: number[] }[] = [];
      const c = new Coalescer<number>((items) => posts.push({ at: performance.now(), items }), 40);
      c.push(1);
      await turn(); // [1] leaves at once and opens the window
      for (let i = 2; i <= 5; i++) {
        c.push(i);
        await turn();
      }
      expect(posts.map((p) => p.items)).toEqual([[1]]);
      await sleep(60);
      expect(posts.map((p) => p.items)).toEqual([[1], [2, 3, 4, 5]]);
      expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(39);
    });

    it('flush() posts at once and cancels the timer it replaces', async () => {
      const posts: number[][] = [];
      const c = new Coalescer<number>((items) => posts.push(items), 30);
      c.push(1);
      await turn();
      c.push(2);
      c.flush();
      expect(posts).toEqual([[1], [2]]);
      await sleep(50);
      expect(posts).toEqual([[1], [2]]); // no empty or duplicate post when the window ends
    });
  });
});
