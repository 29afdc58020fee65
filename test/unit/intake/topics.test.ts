// Topic names, the topics of a stream request, and the topic patterns of subscriber tokens.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpError, type ErrorCode } from '../../../src/intake/errors.js';
import { compileTopicPatterns, isTopic, MAX_TOPICS_PER_STREAM, topicsFromQuery } from '../../../src/intake/topics.js';

/** The catalog code topicsFromQuery throws for `query`, or the topics it returns. */
function topicsOf(query: string): string[] | ErrorCode {
  try {
    return topicsFromQuery(new URLSearchParams(query));
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(400);
    return (err as HttpError).code;
  }
}

describe('isTopic', () => {
  it.each(['a', 'news', 'A-Z_0.9:x/y', 'chat/room-1', 'x'.repeat(128)])('accepts %j', (t) => {
    expect(isTopic(t)).toBe(true);
  });

  it.each(['', 'x'.repeat(129), 'a b', 'a,b', 'a*', 'é', 'a\n', 'a?b', '%41'])('refuses %j', (t) => {
    expect(isTopic(t)).toBe(false);
  });

  it.each([undefined, null, 1, ['a'], { topic: 'a' }])('refuses the non-string %j', (v) => {
    expect(isTopic(v)).toBe(false);
  });
});

describe('topicsFromQuery', () => {
  it('reads a single topic', () => {
    expect(topicsOf('topic=news')).toEqual(['news']);
  });

  it('reads repeated topic= and comma-separated topics=, repeated topic= first', () => {
    expect(topicsOf('topics=c,d&topic=a&topic=b')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drops duplicates, keeping the first occurrence\'s place', () => {
    expect(topicsOf('topic=b&topic=a&topics=a,c,b&topics=c')).toEqual(['b', 'a', 'c']);
  });

  it.each(['', 'other=x', 'Topic=a'])('no topic at all (%j) -> MISSING_TOPIC', (q) => {
    expect(topicsOf(q)).toBe('MISSING_TOPIC');
  });

  it.each(['topic=a%20b', 'topic=', 'topics=a,,b', 'topic=a&topics=b,c*', `topic=${'x'.repeat(129)}`])('a bad name (%j) -> BAD_TOPIC', (q) => {
    expect(topicsOf(q)).toBe('BAD_TOPIC');
  });

  it(`accepts ${MAX_TOPICS_PER_STREAM} distinct topics, refuses 65 with TOO_MANY_TOPICS`, () => {
    const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `t${i}`);
    expect(MAX_TOPICS_PER_STREAM).toBe(64);
    expect(topicsOf(`topics=${names(64).join(',')}`)).toEqual(names(64));
    expect(topicsOf(`topics=${names(65).join(',')}`)).toBe('TOO_MANY_TOPICS');
    expect(topicsOf(names(65).map((t) => `topic=${t}`).join('&'))).toBe('TOO_MANY_TOPICS');
  });

  it('counts distinct topics: 64 topics and duplicates of them are accepted', () => {
    const names = Array.from({ length: 64 }, (_, i) => `t${i}`);
    expect(topicsOf(`topics=${names.join(',')}&topics=t0,t63`)).toEqual(names);
  });
});

describe('compileTopicPatterns', () => {
  it('a pattern without * matches only that exact topic', () => {
    const allowed = compileTopicPatterns(['news']);
    expect(allowed('news')).toBe(true);
    expect(allowed('news/x')).toBe(false);
    expect(allowed('xnews')).toBe(false);
    expect(allowed('new')).toBe(false);
  });

  it('* matches any run of characters, including none and including /', () => {
    const allowed = compileTopicPatterns(['news/*']);
    expect(allowed('news/')).toBe(true);
    expect(allowed('news/sport')).toBe(true);
    expect(allowed('news/sport/football')).toBe(true);
    expect(allowed('news')).toBe(false);
    expect(allowed('old/news/x')).toBe(false);
  });

  it('* in the middle and several stars', () => {
    const allowed = compileTopicPatterns(['user:*:inbox', '*.log.*']);
    expect(allowed('user:42:inbox')).toBe(true);
    expect(allowed('user::inbox')).toBe(true);
    expect(allowed('user:a/b:inbox')).toBe(true);
    expect(allowed('user:42:outbox')).toBe(false);
    expect(allowed('app.log.1')).toBe(true);
    expect(allowed('app.log')).toBe(false);
  });

  it('a lone * matches every topic', () => {
    const allowed = compileTopicPatterns(['*']);
    for (const t of ['a', 'x/y/z', 'A-Z_0.9:x']) expect(allowed(t)).toBe(true);
  });

  it.each([
    ['a.b', 'axb'],
    ['a+', 'aa'],
    ['a?', 'a'],
    ['(a|b)', 'a'],
    ['[ab]', 'a'],
    ['a{2}', 'aa'],
    ['^a$', 'a'],
    ['a\\d', 'a1'],
    ['a$b', 'a'],
  ])('regex metacharacters are literal: %j does not match %j', (pattern, topic) => {
    expect(compileTopicPatterns([pattern])(topic)).toBe(false);
  });

  it.each(['a.b', 'a+', '(a|b)', '[ab]', 'a{2}', '^a$', 'a\\d', 'a-b/c:d'])('a pattern with metacharacters (%j) matches itself', (pattern) => {
    expect(compileTopicPatterns([pattern])(pattern)).toBe(true);
  });

  it('any of several patterns allows; no patterns allow nothing', () => {
    const allowed = compileTopicPatterns(['a', 'b/*']);
    expect(allowed('a')).toBe(true);
    expect(allowed('b/1')).toBe(true);
    expect(allowed('c')).toBe(false);
    expect(compileTopicPatterns([])('a')).toBe(false);
  });
});

/** The rule as written: `*` takes any run (none included), every other character only itself. */
function reference(pattern: string, topic: string): boolean {
  if (pattern === '') return topic === '';
  if (pattern[0] === '*') return reference(pattern.slice(1), topic) || (topic !== '' && reference(pattern, topic.slice(1)));
  return topic !== '' && pattern[0] === topic[0] && reference(pattern.slice(1), topic.slice(1));
}

describe('compileTopicPatterns: matching cost', () => {
  // As a regular expression (one `.*` per star) the first took minutes: the shard answered nothing meanwhile.
  it.each([
    ['*a*a*a*a*a*a*b', 'a'.repeat(128)],
    ['*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(128)],
    [`${'*a'.repeat(60)}*b`, 'a'.repeat(127)],
    ['*a*b*c*d*e*f*g*h*', 'abcdefg'.repeat(18)],
  ])('an adversarial pattern %j against %j answers (no exponential backtracking)', (pattern, topic) => {
    const allowed = compileTopicPatterns([pattern]);
    expect(allowed(topic)).toBe(false);
    expect(allowed(`${topic.slice(1)}b`)).toBe(pattern.endsWith('b'));
  });

  it('agrees with the rule as written on small patterns and topics', () => {
    const chars = fc.constantFrom('a', 'b', '.', '/', '*');
    const text = (max: number) => fc.array(chars, { maxLength: max }).map((c) => c.join(''));
    fc.assert(
      fc.property(text(8), text(10), (pattern, raw) => {
        const topic = raw.replaceAll('*', 'a'); // topics never hold a star
        expect(compileTopicPatterns([pattern])(topic)).toBe(reference(pattern, topic));
      }),
      { numRuns: 5_000 },
    );
  });
});
