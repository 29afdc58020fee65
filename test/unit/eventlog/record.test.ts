// The record format: what is written reads back whole; a cut or a flipped byte is recognised, never
// read back as an event.
import { describe, expect, it } from 'vitest';
import { encodeRecord, KIND, nextMagic, readRecord } from '../../../src/eventlog/record.js';

const header = { e: 'abc', s: 7, n: 2, t: ['a'], at: 1 };
const whole = (): Buffer => Buffer.concat(encodeRecord(KIND.BATCH, header, Buffer.from('body bytes')));

describe('log record', () => {
  it('reads back the header and body it was written with', () => {
    const r = readRecord(whole(), 0);
    expect(r.ok && r.record).toMatchObject({ kind: KIND.BATCH, header });
    expect(r.ok && Buffer.from(r.record.body).toString()).toBe('body bytes');
    expect(r.ok && r.next).toBe(whole().length);
  });

  it('a record cut anywhere is torn, not read', () => {
    const buf = whole();
    for (let cut = 0; cut < buf.length; cut++) expect(readRecord(buf.subarray(0, cut), 0)).toEqual({ ok: false, why: 'torn' });
  });

  it('any flipped byte is caught (magic, length or checksum)', () => {
    const buf = whole();
    for (let i = 0; i < buf.length; i++) {
      const bad = Buffer.from(buf);
      bad[i]! ^= 0x40;
      expect(readRecord(bad, 0).ok, `byte ${i}`).toBe(false);
    }
  });

  it('finds the next record after damage', () => {
    const two = Buffer.concat([Buffer.from('junk!'), whole()]);
    expect(nextMagic(two, 1)).toBe(5);
    expect(readRecord(two, 5).ok).toBe(true);
  });
});
