import { describe, expect, it } from 'vitest';
import { quantileFromBuckets } from '../../../src/metrics/stats.js';

describe('quantileFromBuckets', () => {
  const b = (...counts: number[]): Array<[number, number]> => [0.001, 0.01, 0.1, Infinity].map((le, i) => [le, counts[i]!]);
  it('takes the bucket holding the quantile of what happened in the window', () => {
    expect(quantileFromBuckets(b(0, 0, 0, 0), b(90, 99, 100, 100), 0.99)).toBe(0.01);
    expect(quantileFromBuckets(b(90, 99, 100, 100), b(90, 99, 200, 200), 0.99)).toBe(0.1); // only the window counts
    expect(quantileFromBuckets(b(0, 0, 0, 0), b(0, 0, 0, 5), 0.99)).toBe(Infinity);
  });
  it('is null without anything in the window', () => {
    expect(quantileFromBuckets(b(1, 2, 3, 3), b(1, 2, 3, 3), 0.99)).toBeNull();
  });
});
