// CORS for the configured origins only: an origin not listed is never reflected.
import { describe, expect, it } from 'vitest';
import { Cors, EVENTS_PREFLIGHT, PUBLISH_PREFLIGHT } from '../../../src/transport/cors.js';

const LISTED = 'https://app.example.com';
const OTHER = 'http://localhost:3000';

describe('Cors.headers (actual requests)', () => {
  it('no configured origins: no headers at all, whatever the origin', () => {
    const cors = new Cors([]);
    expect(cors.headers(LISTED)).toEqual([]);
    expect(cors.headers('')).toEqual([]);
  });

  it('a listed origin: allow-origin is that origin, credentials allowed, Vary: Origin', () => {
    const cors = new Cors([OTHER, LISTED]);
    expect(cors.headers(LISTED)).toEqual([
      ['Access-Control-Allow-Origin', LISTED],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Vary', 'Origin'],
    ]);
    expect(cors.headers(OTHER)[0]).toEqual(['Access-Control-Allow-Origin', OTHER]);
  });

  it.each(['https://evil.example.com', 'https://app.example.com.evil.com', 'http://app.example.com', 'https://APP.example.com', '', 'null', '*'])(
    'an unlisted origin (%j): only Vary: Origin, never reflected',
    (origin) => {
      const headers = new Cors([LISTED]).headers(origin);
      expect(headers).toEqual([['Vary', 'Origin']]);
    },
  );
});

describe('Cors.preflight', () => {
  it('a listed origin: the actual-request headers, then methods, headers and max-age', () => {
    expect(new Cors([LISTED]).preflight(LISTED, PUBLISH_PREFLIGHT)).toEqual([
      ['Access-Control-Allow-Origin', LISTED],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Vary', 'Origin'],
      ['Access-Control-Allow-Methods', 'GET, POST, OPTIONS'],
      ['Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID'],
      ['Access-Control-Max-Age', '600'],
    ]);
  });

  it('an unlisted origin gets no preflight grant, only Vary: Origin', () => {
    for (const allowed of [PUBLISH_PREFLIGHT, EVENTS_PREFLIGHT]) expect(new Cors([LISTED]).preflight(OTHER, allowed)).toEqual([['Vary', 'Origin']]);
  });

  it('no configured origins: no headers', () => {
    expect(new Cors([]).preflight(LISTED, EVENTS_PREFLIGHT)).toEqual([]);
  });

  it('GET /events allows what a fetch()-based stream client sends: Authorization, Last-Event-ID, Cache-Control, Accept', () => {
    expect(new Cors([LISTED]).preflight(LISTED, EVENTS_PREFLIGHT).slice(3)).toEqual([
      ['Access-Control-Allow-Methods', 'GET, HEAD'],
      ['Access-Control-Allow-Headers', 'Authorization, Last-Event-ID, Cache-Control, Accept'],
      ['Access-Control-Max-Age', '600'],
    ]);
  });
});
