// What the bench publishes, and how a subscriber reads the stamps back out of it. Every payload
// carries the phase, the publisher's sequence number and the moment its request was written
// (CLOCK_MONOTONIC µs), so latency and missing deliveries can be told from the data alone.
// Two shapes: padding (`<phase> <seq> <sent µs> xxx...`, a given size: it compresses to nearly nothing,
// so it tells nothing about compression) and a JSON ticker (repeating field names, changing numbers:
// what compression meets in practice).

/** a payload of this many bytes (padded), or the JSON ticker */
export type Payload = number | 'ticker';

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'BRK.B', 'JPM', 'V'];

/** Ticker event `i` (about 150 B of JSON); `ts` is its time in ms, derived from `i` unless given. */
export function tick(i: number, ts = 1_764_670_000_000 + i * 2): string {
  const price = 100 + ((i * 7919) % 40_000) / 100;
  return JSON.stringify({
    type: 'quote',
    symbol: SYMBOLS[i % SYMBOLS.length],
    bid: price.toFixed(2),
    ask: (price + 0.01 * (1 + (i % 5))).toFixed(2),
    bidSize: 100 * (1 + ((i * 31) % 50)),
    askSize: 100 * (1 + ((i * 17) % 50)),
    ts,
  });
}

// Where the three stamps start, for each shape: the digits of each follow its separator.
const PADDED = ['', ' ', ' '];
const TICKER = ['{"phase":', ',"seq":', ',"sentUs":'];

export function payload(phase: number, seq: number, sentUs: number, shape: Payload): string {
  if (shape === 'ticker') return `${TICKER[0]}${phase}${TICKER[1]}${seq}${TICKER[2]}${sentUs},${tick(seq, Date.now()).slice(1)}`;
  const head = `${phase} ${seq} ${sentUs} `;
  return head.length >= shape ? head : head + 'x'.repeat(shape - head.length);
}

export interface Stamp {
  phase: number;
  seq: number;
  sentUs: number;
}

/**
 * Reads the stamps of a payload of either shape into `out` (no allocation: it runs once per
 * delivery in the generator); false when `data` is not a bench payload.
 */
export function readStamp(data: string, out: Stamp): boolean {
  const separators = data.charCodeAt(0) === 123 /* '{' */ ? TICKER : PADDED;
  let i = 0;
  for (let k = 0; k < 3; k++) {
    const sep = separators[k]!;
    if (sep !== '' && !data.startsWith(sep, i)) return false;
    i += sep.length;
    const start = i;
    let v = 0;
    for (let c = data.charCodeAt(i); c >= 48 && c <= 57; c = data.charCodeAt(++i)) v = v * 10 + (c - 48);
    if (i === start) return false;
    if (k === 0) out.phase = v;
    else if (k === 1) out.seq = v;
    else out.sentUs = v;
  }
  return true;
}
