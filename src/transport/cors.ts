// CORS for the configured origins only: an origin not listed gets no CORS headers, never a reflection.
export type Header = readonly [string, string];

/** What a cross-origin page may send to one endpoint besides simple requests: its preflight's answer. */
export interface Preflight {
  methods: string;
  headers: string;
}

/** POST /publish: JSON bodies and Authorization are not "simple". */
export const PUBLISH_PREFLIGHT: Preflight = { methods: 'GET, POST, OPTIONS', headers: 'Authorization, Content-Type, Last-Event-ID' };
/** GET /events: a fetch-based client sends the token in Authorization and resumes with Last-Event-ID. */
export const EVENTS_PREFLIGHT: Preflight = { methods: 'GET, HEAD', headers: 'Authorization, Last-Event-ID, Cache-Control, Accept' };
/** GET /topics: the publisher's credentials in Authorization. */
export const TOPICS_PREFLIGHT: Preflight = { methods: 'GET, HEAD', headers: 'Authorization' };

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

  /** The answer to a preflight (OPTIONS) from `origin` for an endpoint that allows `allowed`. */
  preflight(origin: string, allowed: Preflight): Header[] {
    const base = this.headers(origin);
    if (base.length < 2) return base;
    return [
      ...base,
      ['Access-Control-Allow-Methods', allowed.methods],
      ['Access-Control-Allow-Headers', allowed.headers],
      ['Access-Control-Max-Age', '600'],
    ];
  }
}
