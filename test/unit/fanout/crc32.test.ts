import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Combine, crc32CombineShifted, crc32Shift } from '../../../src/fanout/crc32.js';

const ascii = (s: string): Buffer => Buffer.from(s, 'latin1');
/** The CRC a gzip member carries in its trailer (RFC 1952: CRC-32, then the length, little-endian). */
const gzipTrailerCrc = (bytes: Uint8Array): number => {
  const member = zlib.gzipSync(bytes);
  return member.readUInt32LE(member.length - 8);
};

describe('crc32', () => {
  it.each([
    ['the check value of CRC-32/ISO-HDLC', '123456789', 0xcbf43926],
    ['nothing', '', 0],
    ['one letter', 'a', 0xe8b7be43],
    ['a pangram', 'The quick brown fox jumps over the lazy dog', 0x414fa339],
  ])('of %s (%j) is the published value', (_label, text, value) => {
    expect(crc32(ascii(text))).toBe(value);
  });

  it('agrees with node:zlib crc32 and with the gzip trailer on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        expect(crc32(bytes)).toBe(zlib.crc32(bytes));
        expect(crc32(bytes)).toBe(gzipTrailerCrc(bytes));
      }),
    );
  });

  it('continues from an earlier CRC as if the bytes were one run, as zlib does', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.uint8Array({ maxLength: 512 }), (a, b) => {
        const whole = Buffer.concat([a, b]);
        expect(crc32(b, crc32(a))).toBe(crc32(whole));
        expect(crc32(b, crc32(a))).toBe(zlib.crc32(b, zlib.crc32(a)));
      }),
    );
  });

  it('is an unsigned 32-bit number', () => {
    for (let i = 0; i < 64; i++) {
      const c = crc32(randomBytes(17));
      expect(Number.isInteger(c) && c >= 0 && c <= 0xffffffff).toBe(true);
    }
  });
});

describe('crc32Combine', () => {
  it('gives the CRC of A+B from the CRCs of A and B and the length of B', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1024 }), fc.uint8Array({ maxLength: 1024 }), (a, b) => {
        const whole = crc32(Buffer.concat([a, b]));
        expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(whole);
        expect(crc32CombineShifted(crc32(a), crc32(b), crc32Shift(b.length))).toBe(whole);
      }),
    );
  });

  it('with an empty B is the CRC of A, unsigned', () => {
    expect(crc32Combine(crc32(ascii('123456789')), 0, 0)).toBe(0xcbf43926);
    expect(crc32Combine(-1, 0, 0)).toBe(0xffffffff);
  });

  it('holds for a B of 1 MiB and odd lengths around powers of two', () => {
    const a = randomBytes(300);
    for (const length of [1 << 20, (1 << 16) - 1, (1 << 16) + 1, 4097]) {
      const b = randomBytes(length);
      expect(crc32Combine(crc32(a), crc32(b), length)).toBe(zlib.crc32(Buffer.concat([a, b])));
    }
  });

  it('holds for B longer than 512 MiB, where the table of x^2^n wraps (x^2^32 = x modulo the polynomial)', () => {
    // A combine multiplies A's CRC by crc32Shift(length of B) (with B's CRC 0, that is all it does), so
    // a shift by n must equal a shift by floor(n/2) after one by ceil(n/2); from n = 2^29 bytes on, a
    // shift reads the table past its 32 entries, the halves not yet.
    const crcA = crc32(ascii('123456789'));
    const times = (shift: number, crc: number): number => crc32CombineShifted(crc, 0, shift);
    for (const n of [2 ** 29, 2 ** 29 + 1, 2 ** 30, 2 ** 40 + 12345]) {
      const twice = times(crc32Shift(Math.floor(n / 2)), times(crc32Shift(Math.ceil(n / 2)), crcA));
      expect(times(crc32Shift(n), crcA)).toBe(twice);
    }
  });
});
