// A log-linear latency histogram in microseconds (HdrHistogram's idea, small): exact below 128 µs,
// then 64 buckets per power of two, so any recorded value is within 1.6% of its bucket's midpoint.
// Recording is a few integer operations; histograms from several processes merge by adding counts.

const SUB_BUCKETS = 64;
const LINEAR_LIMIT = 2 * SUB_BUCKETS; // values below this get their own bucket
const MAX_VALUE = 2 ** 31 - 1; // µs, about 36 minutes
const BUCKETS = (31 - 6 + 1) * SUB_BUCKETS + SUB_BUCKETS;

function bucketOf(us: number): number {
  const v = us <= 0 ? 0 : us >= MAX_VALUE ? MAX_VALUE : Math.floor(us);
  if (v < LINEAR_LIMIT) return v;
  const shift = 31 - Math.clz32(v) - 6; // keep the top 7 bits
  return (shift + 1) * SUB_BUCKETS + (v >>> shift) - SUB_BUCKETS;
}

function valueOf(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const shift = Math.floor(bucket / SUB_BUCKETS) - 1;
  const mantissa = bucket - shift * SUB_BUCKETS;
  return mantissa * 2 ** shift + 2 ** (shift - 1); // bucket midpoint
}

/** The wire form (IPC, results file): only the non-empty buckets. */
export interface HistogramData {
  buckets: number[];
  counts: number[];
  max: number;
  total: number;
}

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  total = 0;
  max = 0;

  record(us: number): void {
    this.counts[bucketOf(us)]!++;
    this.total++;
    if (us > this.max) this.max = us;
  }

  /** `n` samples of the same value (events that arrived in one read). */
  recordMany(us: number, n: number): void {
    this.counts[bucketOf(us)]! += n;
    this.total += n;
    if (us > this.max) this.max = us;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  merge(data: HistogramData): void {
    for (let i = 0; i < data.buckets.length; i++) this.counts[data.buckets[i]!]! += data.counts[i]!;
    this.total += data.total;
    if (data.max > this.max) this.max = data.max;
  }

  toData(): HistogramData {
    const buckets: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < BUCKETS; i++) {
      if (this.counts[i]! > 0) {
        buckets.push(i);
        counts.push(this.counts[i]!);
      }
    }
    return { buckets, counts, max: this.max, total: this.total };
  }

  /** The value (µs) at quantile q in 0..1; the exact maximum for q = 1; 0 when empty. */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(valueOf(i), this.max);
    }
    return this.max;
  }

  static from(data: HistogramData): LatencyHistogram {
    const h = new LatencyHistogram();
    h.merge(data);
    return h;
  }
}

/** The percentiles every report shows, in milliseconds. */
export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

export function summarise(h: LatencyHistogram): LatencySummary {
  const ms = (us: number): number => Math.round(us) / 1000;
  return {
    p50: ms(h.quantile(0.5)),
    p90: ms(h.quantile(0.9)),
    p99: ms(h.quantile(0.99)),
    p999: ms(h.quantile(0.999)),
    max: ms(h.max),
    samples: h.total,
  };
}
