// The pure parts of GET /topics: the page query and the topic in the path.
import { describe, expect, it } from 'vitest';
import { pageQuery, topicOfPath } from '../../../src/transport/console-routes.js';

const q = (s: string): URLSearchParams => new URLSearchParams(s);

describe('pageQuery', () => {
  it('defaults to 100 topics from the start', () => {
    expect(pageQuery(q(''))).toEqual({ prefix: '', limit: 100, cursor: undefined });
  });
  it('takes prefix, limit up to 1000 and cursor', () => {
    expect(pageQuery(q('prefix=a/&limit=1000&cursor=a/b'))).toEqual({ prefix: 'a/', limit: 1000, cursor: 'a/b' });
  });
  it.each(['limit=0', 'limit=1001', 'limit=1.5', 'limit=-3', 'limit=', 'limit=1e3', `cursor=${'x'.repeat(129)}`])('refuses %s with BAD_PAGINATION', (s) => {
    expect(() => pageQuery(q(s))).toThrow(expect.objectContaining({ code: 'BAD_PAGINATION', status: 400 }));
  });
});

describe('topicOfPath', () => {
  it('percent-decodes the rest of the path; slashes belong to the topic', () => {
    expect(topicOfPath('/topics/a/b:c')).toBe('a/b:c');
    expect(topicOfPath('/topics/%24presence')).toBe('$presence');
    expect(topicOfPath('/topics/$presence')).toBe('$presence');
  });
  it.each(['/topics/', '/topics/a%20b', '/topics/%E0%A4%A', '/topics/$other'])('refuses %s with BAD_TOPIC', (p) => {
    expect(() => topicOfPath(p)).toThrow(expect.objectContaining({ code: 'BAD_TOPIC' }));
  });
});
