import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatId, newEpoch, parseId } from '../../../src/sequencing/event-ids.js';

// The contract: ids are at most 128 bytes of A-Za-z0-9._~:- (no preflight on a cross-origin reconnect).
const CONTRACT_ID = /^[A-Za-z0-9._~:-]{1,128}$/;

describe('newEpoch', () => {
  it('is 12 lowercase hex characters, different on each call', () => {
    const a = newEpoch();
    const b = newEpoch();
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(b).toMatch(/^[0-9a-f]{12}$/);
    expect(a).not.toBe(b);
  });
});

describe('formatId', () => {
  it('is <epoch>-<seq>', () => {
    expect(formatId('abc123', 42)).toBe('abc123-42');
    expect(formatId('0', 0)).toBe('0-0');
  });

  it('stays within the contract alphabet and length', () => {
    expect(formatId(newEpoch(), 999_999_999_999_999)).toMatch(CONTRACT_ID);
  });
});

describe('parseId', () => {
  it('round-trips formatId for a real epoch', () => {
    const epoch = newEpoch();
    for (const seq of [0, 1, 2, 10, 123_456, 2 ** 32, 999_999_999_999_999]) {
      expect(parseId(formatId(epoch, seq))).toEqual({ epoch, seq });
    }
  });

  it('round-trips any epoch of 1 to 32 [0-9a-z] and any safe-integer seq (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-z]{1,32}$/),
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        (epoch, seq) => {
          const id = formatId(epoch, seq);
          expect(id).toMatch(CONTRACT_ID);
          expect(parseId(id)).toEqual({ epoch, seq });
        },
      ),
      { numRuns: 500 },
    );
  });

  it('returns undefined for a missing id', () => {
    expect(parseId(undefined)).toBeUndefined();
  });

  it.each([
    ['empty', ''],
    ['only a dash', '-'],
    ['no seq', 'abc-'],
    ['no epoch', '-12'],
    ['no dash', 'abc12'],
    ['two dashes', 'abc-1-2'],
    ['negative seq', 'abc--1'],
    ['fractional seq', 'abc-1.5'],
    ['exponent seq', 'abc-1e3'],
    ['hex seq', 'abc-0x10'],
    ['upper-case epoch', 'ABC-1'],
    ['epoch with another symbol', 'ab_c-1'],
    ['leading space', ' abc-1'],
    ['trailing space', 'abc-1 '],
    ['trailing newline', 'abc-1\n'],
    ['epoch of 33 characters', `${'a'.repeat(33)}-1`],
    ['seq of 17 digits', 'abc-12345678901234567'],
    ['leading zero (a second spelling of an id)', 'abc-007'],
    ['too long overall', `${'a'.repeat(100)}-${'1'.repeat(100)}`],
    ['a seq past Number.MAX_SAFE_INTEGER', 'abc-9007199254740993'],
    ['a UUID', '550e8400-e29b-41d4-a716-446655440000'],
    ['a plain number (another server\'s style)', '12345'],
    ['unicode digits', 'abc-١٢٣'],
  ])('returns undefined for garbage: %s', (_label, raw) => {
    expect(parseId(raw)).toBeUndefined();
  });

  it('accepts the longest shape it allows: 32-character epoch, seq up to Number.MAX_SAFE_INTEGER', () => {
    expect(parseId(`${'z'.repeat(32)}-${Number.MAX_SAFE_INTEGER}`)).toEqual({ epoch: 'z'.repeat(32), seq: Number.MAX_SAFE_INTEGER });
  });

  it('never yields an unsafe integer', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('0', '1', '9', 'a', '-', 'z'), maxLength: 60 }), (raw) => {
        const id = parseId(raw);
        if (id !== undefined) {
          expect(Number.isSafeInteger(id.seq)).toBe(true);
          expect(id.seq).toBeGreaterThanOrEqual(0);
          expect(raw).toBe(`${id.epoch}-${raw.slice(id.epoch.length + 1)}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
