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
});
