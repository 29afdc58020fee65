// CORS for the configured origins only: an origin not listed gets no CORS headers, never a reflection.
export type Header = readonly [string, string];

export class Cors {
  private readonly allowed: ReadonlySet<string>;
  constructor(origins: readonly string[]) {
    this.allowed = new Set(origins);
  }

  /** Headers for an actual request from `origin`. Credentials are allowed because the origin is explicit. */
  headers(origin: string): Header[] {
    if (this.allowed.size === 0) return [];
    if (!this.allowed.has(origin)) return [['Vary', 'Origin']];
    return [
      ['Access-Control-Allow-Origin', origin],
      ['Access-Control-Allow-Credentials', 'true'],
      ['Vary', 'Origin'],
    ];
  }

  /** Preflight for POST /publish (JSON bodies and Authorization are not "simple"). */
  preflight(origin: string): Header[] {
    const base = this.headers(origin);
    if (base.length < 2) return base;
    return [
      ...base,
      ['Access-Control-Allow-Methods', 'GET, POST, OPTIONS'],
      ['Access-Control-Allow-Headers', 'Authorization, Content-Type, Last-Event-ID'],
      ['Access-Control-Max-Age', '600'],
    ];
  }
}
