// Accept-Encoding and gzip, by the rules of RFC 9110 §12.5.3: a coding is acceptable when listed
// with a weight above 0; `*` stands for any coding not listed by name; q=0 means "not acceptable".
import { describe, expect, it } from 'vitest';
import { acceptsGzip } from '../../../src/intake/accept-encoding.js';

describe('acceptsGzip', () => {
  it.each([
    'gzip',
    'x-gzip',
    'gzip, deflate, br',
    'br;q=1.0, gzip;q=0.8, *;q=0.1',
    'deflate, gzip;q=1.0, *;q=0.5',
    'deflate, gzip;q=0.001',
    'gzip;q=1',
    'gzip;q=1.000',
    'gzip;q=0.5',
  ])('%j accepts gzip', (header) => {
    expect(acceptsGzip(header)).toBe(true);
  });

  it.each([
    ['no header (uWS gives an empty value)', ''],
    ['only other codings', 'deflate, br'],
    ['identity only', 'identity'],
    ['q=0 on gzip', 'gzip;q=0'],
    ['q=0.0 and q=0.000 on gzip', 'gzip;q=0.000'],
    ['q=0 on x-gzip', 'x-gzip;q=0'],
    ['a coding whose name only contains gzip', 'gzipped, notgzip'],
  ])('%s: no gzip (%j)', (_label, header) => {
    expect(acceptsGzip(header)).toBe(false);
  });

  describe('*', () => {
    it.each([
      ['* alone', '*', true],
      ['* with a weight', '*;q=0.5', true],
      ['*;q=0, nothing named', '*;q=0', false],
      ['identity and *', 'identity, *', true],
      ['identity, *;q=0: only identity', 'identity, *;q=0', false],
    ])('%s (%j): %s', (_label, header, accepted) => {
      expect(acceptsGzip(header)).toBe(accepted);
    });

    it('gzip named wins over *, whatever their order', () => {
      expect(acceptsGzip('*, gzip;q=0')).toBe(false);
      expect(acceptsGzip('gzip;q=0, *')).toBe(false);
      expect(acceptsGzip('*;q=0, gzip')).toBe(true);
      expect(acceptsGzip('gzip, *;q=0')).toBe(true);
    });
  });

  it('names and the q parameter are case-insensitive', () => {
    expect(acceptsGzip('GZIP')).toBe(true);
    expect(acceptsGzip('GZip;Q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;Q=0')).toBe(false);
    expect(acceptsGzip('X-GZIP')).toBe(true);
  });

  it('whitespace around elements, semicolons and the weight is ignored', () => {
    expect(acceptsGzip('  gzip  ')).toBe(true);
    expect(acceptsGzip('deflate ,\tgzip ; q=0.5 ')).toBe(true);
    expect(acceptsGzip('gzip ; q=0')).toBe(false);
    expect(acceptsGzip('gzip\t;\tq=0')).toBe(false);
    expect(acceptsGzip(',, gzip ,')).toBe(true);
  });

  it('other parameters beside q do not matter', () => {
    expect(acceptsGzip('gzip;level=9')).toBe(true);
    expect(acceptsGzip('gzip;level=9;q=0')).toBe(false);
  });

  describe('a weight that is not a qvalue (0 to 1, at most 3 decimals) makes the coding not acceptable', () => {
    // Sending gzip to a client that cannot decode it garbles its stream; identity is always safe.
    it.each(['gzip;q=', 'gzip;q=abc', 'gzip;q=-1', 'gzip;q=1.5', 'gzip;q=2', 'gzip;q=.5', 'gzip;q=0.0.1', 'gzip;q=0.5000', 'gzip;q=1.001', 'gzip;q=0x1', 'gzip;q=1e0'])('%j', (header) => {
      expect(acceptsGzip(header)).toBe(false);
    });

    it('and * with such a weight accepts nothing', () => {
      expect(acceptsGzip('*;q=abc')).toBe(false);
    });

    it('a later valid listing of gzip still counts', () => {
      expect(acceptsGzip('gzip;q=0.0.1, gzip')).toBe(true);
      expect(acceptsGzip('gzip;q=abc, gzip;q=0.3')).toBe(true);
    });
  });
});
