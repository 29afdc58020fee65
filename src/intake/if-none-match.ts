// If-None-Match, as far as the console's static files need it (RFC 9110 §13.1.2): does the client
// already hold this representation, so that a 304 without a body will do?

/** One element of the list: optional W/, any characters but `"` between double quotes (commas too), then `,` or the end. */
const ELEMENT = /[ \t]*(?:W\/)?("[^"]*")[ \t]*(?:,|$)/y;

/**
 * `*`, or a list naming `etag`; compared weakly (W/ ignored on either side), as If-None-Match
 * requires. A malformed list matches nothing: the full answer is always safe.
 */
export function noneMatchHits(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  let hit = false;
  ELEMENT.lastIndex = 0;
  while (ELEMENT.lastIndex < header.length) {
    const m = ELEMENT.exec(header);
    if (m === null) return false;
    hit ||= m[1] === opaque;
  }
  return hit;
}
