// The generator's latency histogram: percentiles within its stated 1.6% of the exact ones, exact
// maximum, and histograms from several processes merge into the same figures.
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../../bench/load/latency-histogram.js';

function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
}

describe('LatencyHistogram', () => {
  it('keeps percentiles within 1.6% and the maximum exact', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const values = Array.from({ length: 50_000 }, () => Math.floor(Math.exp(random() * 14))); // 1 µs .. 1.2 s
    const h = new LatencyHistogram();
    for (const v of values) h.record(v);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const want = exact(values, q);
      expect(Math.abs(h.quantile(q) - want)).toBeLessThanOrEqual(Math.max(1, want * 0.016));
    }
    expect(h.quantile(1)).toBe(Math.max(...values));
    expect(h.total).toBe(values.length);
  });

  it('merges histograms from several processes', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 1; i <= 10_000; i++) {
      (i % 2 === 0 ? a : b).record(i * 37);
      all.record(i * 37);
    }
    const merged = LatencyHistogram.from(a.toData());
    merged.merge(b.toData());
    for (const q of [0.5, 0.99, 1]) expect(merged.quantile(q)).toBe(all.quantile(q));
  });
});
