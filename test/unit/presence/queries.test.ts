// askFrom: the main thread's answers to a shard's presence and stats queries, each kind from its source.
import { describe, expect, it } from 'vitest';
import type { StatsSample } from '../../../src/metrics/stats.js';
import type { TopicPage } from '../../../src/presence/presence-table.js';
import { askFrom, type QuerySources } from '../../../src/presence/queries.js';

/** Sources that record what they were asked and answer from fixed values. */
function recorded(): { sources: QuerySources; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const page: TopicPage = { topics: [{ topic: 'a', subscribers: 3 }], next: 'a' };
  const sample = { at: 1234 } as StatsSample;
  const sources: QuerySources = {
    subscribers: (topic) => (calls.push(['subscribers', topic]), topic === 'a' ? 3 : 0),
    list: (prefix, limit, cursor, patterns) => (calls.push(['list', prefix, limit, cursor, patterns]), page),
    stats: () => (calls.push(['stats']), sample),
  };
  return { sources, calls };
}

describe('askFrom', () => {
  it('answers subscribers from the counts of that topic', async () => {
    const { sources, calls } = recorded();
    const ask = askFrom(sources);
    expect(await ask({ kind: 'subscribers', topic: 'a' })).toBe(3);
    expect(await ask({ kind: 'subscribers', topic: 'quiet' })).toBe(0);
    expect(calls).toEqual([
      ['subscribers', 'a'],
      ['subscribers', 'quiet'],
    ]);
  });

  it('answers list with the page for its prefix, limit, cursor and the patterns that scope it', async () => {
    const { sources, calls } = recorded();
    expect(await askFrom(sources)({ kind: 'list', prefix: 'a', limit: 10, cursor: undefined })).toEqual({ topics: [{ topic: 'a', subscribers: 3 }], next: 'a' });
    await askFrom(sources)({ kind: 'list', prefix: '', limit: 1000, cursor: 'a', patterns: ['news.*'] });
    expect(calls).toEqual([
      ['list', 'a', 10, undefined, undefined],
      ['list', '', 1000, 'a', ['news.*']],
    ]);
  });

  it('answers stats with the latest sample, asked anew each time', async () => {
    const { sources, calls } = recorded();
    const ask = askFrom(sources);
    expect(await ask({ kind: 'stats' })).toEqual({ at: 1234 });
    await ask({ kind: 'stats' });
    expect(calls).toEqual([['stats'], ['stats']]);
  });

  it('answers as a promise, and asks the source when asked (not when the promise is awaited)', async () => {
    const { sources, calls } = recorded();
    const answer = askFrom(sources)({ kind: 'subscribers', topic: 'a' });
    expect(answer).toBeInstanceOf(Promise);
    expect(calls).toHaveLength(1);
    await answer;
  });
});
