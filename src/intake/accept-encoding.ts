// Accept-Encoding, as far as GET /events needs it: does the client take gzip (RFC 9110 §12.5.3).

/** Accept-Encoding allows gzip: `gzip`, `x-gzip` or `*` with a q above 0, and gzip not refused by name. */
export function acceptsGzip(header: string): boolean {
  let named: number | undefined;
  let star: number | undefined;
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.trim().toLowerCase().split(';');
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/.exec(p);
      if (m) q = Number(m[1]);
    }
    const name = token.trim();
    if (name === 'gzip' || name === 'x-gzip') named = Math.max(named ?? 0, q);
    else if (name === '*') star = q;
  }
  if (named !== undefined) return named > 0;
  return star !== undefined && star > 0;
}
