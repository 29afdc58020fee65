// Claims (src/intake/token-claims.ts): topic patterns under any claim name (namespaced URLs too), an
// array of strings and nothing else; coverage of every topic; and the refusal log's rate limit
// (src/intake/refusal-log.ts).
import { describe, expect, it } from 'vitest';
import { RefusalLog } from '../../../src/intake/refusal-log.js';
import { firstUncovered, patternsOf, TokenRefused } from '../../../src/intake/token-claims.js';

describe('patternsOf', () => {
  it('reads an array under any claim name, namespaced URLs included', () => {
    expect(patternsOf({ topics: ['a', 'b.*'] }, 'topics')).toEqual(['a', 'b.*']);
    expect(patternsOf({ 'https://example.com/topics': ['news.*'] }, 'https://example.com/topics')).toEqual(['news.*']);
  });

  it('absent is undefined; anything else (a string too) is refused', () => {
    expect(patternsOf({}, 'topics')).toBeUndefined();
    for (const bad of ['a', 1, null, {}, ['a', 1], true]) {
      expect(() => patternsOf({ topics: bad }, 'topics')).toThrow(TokenRefused);
    }
  });
});

describe('firstUncovered', () => {
  it('every topic must be covered', () => {
    expect(firstUncovered(['news.*', 'sports'], ['news.eu', 'sports'])).toBeUndefined();
    expect(firstUncovered(['news.*'], ['news.eu', 'weather'])).toBe('weather');
    expect(firstUncovered([], ['a'])).toBe('a');
  });
});

describe('RefusalLog', () => {
  it('writes each refusal with its reason, at most `burst` per window, then says how many it left out', () => {
    const lines: string[] = [];
    let now = 0;
    const log = new RefusalLog((l) => lines.push(l), 3, 1000, () => now);
    for (let i = 0; i < 10; i++) log.refused('GET /events', 401, `reason ${i}`);
    expect(lines).toEqual(['auth: 401 GET /events: reason 0', 'auth: 401 GET /events: reason 1', 'auth: 401 GET /events: reason 2']);
    now = 1500;
    log.refused('POST /publish', 403, 'token does not allow publishing to x');
    expect(lines.slice(3)).toEqual(['auth: 7 more refusal(s) not logged in the last 2 s', 'auth: 403 POST /publish: token does not allow publishing to x']);
  });
});
