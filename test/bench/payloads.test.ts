// The bench's payloads: both shapes carry the stamps the subscribers read back, and the ticker is
// the JSON an application would publish, with the stamps as its first fields.
import { describe, expect, it } from 'vitest';
import { payload, readStamp, type Stamp } from '../../bench/load/payloads.js';

describe('bench payloads', () => {
  const out: Stamp = { phase: 0, seq: 0, sentUs: 0 };

  it('reads back phase, seq and send time from a padded payload of the given size', () => {
    const p = payload(3, 1234, 987_654_321_012, 128);
    expect(p).toHaveLength(128);
    expect(readStamp(p, out)).toBe(true);
    expect(out).toEqual({ phase: 3, seq: 1234, sentUs: 987_654_321_012 });
  });

  it('reads them back from the JSON ticker, whose other fields are a quote', () => {
    const p = payload(2, 77, 123_456_789_012, 'ticker');
    expect(readStamp(p, out)).toBe(true);
    expect(out).toEqual({ phase: 2, seq: 77, sentUs: 123_456_789_012 });
    const json = JSON.parse(p) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['phase', 'seq', 'sentUs', 'type', 'symbol', 'bid', 'ask', 'bidSize', 'askSize', 'ts']);
    expect(json['type']).toBe('quote');
  });

  it('refuses data that is not a bench payload', () => {
    for (const data of ['', 'hello', '{"reason":"dropped"}', '{"phase":1,"seq":x', '12 34']) expect(readStamp(data, out)).toBe(false);
  });
});
