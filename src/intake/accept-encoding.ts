// Accept-Encoding, as far as GET /events needs it: does the client take gzip (RFC 9110 §12.5.3).

/** RFC 9110 §12.4.2: 0 to 1 with at most three decimals */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;

/**
 * The weight of one element's parameters: 1 without q. A q that is not a qvalue (q=-1, q=1.5,
 * q=abc) counts as 0: sending gzip to a client that cannot decode it garbles its stream, and
 * identity is always safe.
 */
function weight(params: string[]): number {
  let q = 1;
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0 || p.slice(0, eq).trim() !== 'q') continue;
    const value = p.slice(eq + 1).trim();
    q = QVALUE.test(value) ? Number(value) : 0;
  }
  return q;
}

/** Accept-Encoding allows gzip: `gzip`, `x-gzip` or `*` with a q above 0, and gzip not refused by name. */
export function acceptsGzip(header: string): boolean {
  let named: number | undefined;
  let star: number | undefined;
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.toLowerCase().split(';');
    const name = token.trim();
    if (name === 'gzip' || name === 'x-gzip') named = Math.max(named ?? 0, weight(params));
    else if (name === '*') star = weight(params);
  }
  if (named !== undefined) return named > 0;
  return star !== undefined && star > 0;
}
