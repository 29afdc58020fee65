import { describe, expect, it } from 'vitest';
import { noneMatchHits } from '../../../src/intake/if-none-match.js';

const ETAG = '"abc123"';

describe('noneMatchHits (RFC 9110 §13.1.2, weak comparison)', () => {
  it.each([
    ['the tag itself', '"abc123"'],
    ['the tag marked weak', 'W/"abc123"'],
    ['the tag in a list', '"old", "abc123", "older"'],
    ['the tag in a list without spaces', '"old","abc123"'],
    ['*', '*'],
    ['* with spaces around', '  *  '],
    ['the tag with spaces around', ' "abc123" '],
  ])('%s matches', (_label, header) => {
    expect(noneMatchHits(header, ETAG)).toBe(true);
  });

  it.each([
    ['no header', ''],
    ['another tag', '"abc124"'],
    ['the tag without quotes', 'abc123'],
    ['a tag that only starts like it', '"abc1234"'],
    ['a tag that contains it', '"xabc123"'],
    ['a list of other tags', '"a", W/"b"'],
    ['* inside a list (not the whole value)', '"a", *'],
    ['a lower-case w/ prefix (the prefix is case-sensitive)', 'w/"abc123"'],
  ])('%s does not match', (_label, header) => {
    expect(noneMatchHits(header, ETAG)).toBe(false);
  });

  it('a comma inside a tag is part of it, not a separator', () => {
    expect(noneMatchHits('"a,b"', '"a,b"')).toBe(true);
    expect(noneMatchHits('"a,b"', '"a"')).toBe(false);
  });

  it('a weak tag of ours matches its strong form', () => {
    expect(noneMatchHits('"abc123"', 'W/"abc123"')).toBe(true);
  });
});

describe('a malformed list matches nothing (the full answer is always safe)', () => {
  it.each([
    ['an unterminated tag', '"abc123", "x'],
    ['text between tags', '"abc123" junk'],
    ['two tags without a comma', '"x""abc123"'],
  ])('%s', (_label, header) => {
    expect(noneMatchHits(header, ETAG)).toBe(false);
  });
});
