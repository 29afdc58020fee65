// Settings that are URLs. CORS_ORIGIN's origins are compared with the browser's `Origin` header
// byte for byte, so they are kept in the form browsers send (lower-case scheme and host, no default
// port, no trailing slash), and what no browser ever sends (a path, a wildcard) is refused. A URL's
// password is never printed: REDIS_URL may carry one, and any message or log line that shows a URL
// shows it through `redactCredentials`.
import type { EnvReader } from './env-reader.js';

/** Every `scheme://user:password@` in `text` as `scheme://user:***@` (a bare `scheme://token@` as `scheme://***@`). */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^\s/?#]*)@/gi, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    return `${scheme}${colon < 0 ? '***' : `${userinfo.slice(0, colon)}:***`}@`;
  });
}

/** The origin as a browser sends it, or undefined when no browser could send it. */
export function normalisedOrigin(text: string): string | undefined {
  // only scheme and authority, with at most a trailing slash: no path, query, fragment, userinfo or *
  if (!/^https?:\/\/[^/?#@*\s]+\/?$/i.test(text)) return undefined;
  try {
    return new URL(text).origin;
  } catch {
    return undefined;
  }
}

/** CORS_ORIGIN: comma-separated origins, normalised, each at most once. */
export function readCorsOrigins(read: EnvReader): string[] {
  const origins = new Set<string>();
  for (const entry of (read.text('CORS_ORIGIN') ?? '').split(',').map((o) => o.trim()).filter(Boolean)) {
    const origin = normalisedOrigin(entry);
    if (origin !== undefined) origins.add(origin);
    else read.problems.push(`\`CORS_ORIGIN\` must list origins like https://app.example.com (no paths, no *), got \`${redactCredentials(entry)}\``);
  }
  return [...origins];
}

/** The URL parsed, or undefined when it cannot be (also when its user or password has a malformed %-escape). */
function parsedUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    return url;
  } catch {
    return undefined;
  }
}

/** REDIS_URL: redis:// or rediss://, credentials allowed (never printed). */
export function readRedisUrl(read: EnvReader): string | undefined {
  const url = read.text('REDIS_URL');
  if (url !== undefined && (!/^rediss?:\/\/./.test(url) || parsedUrl(url) === undefined)) {
    return read.problem(`\`REDIS_URL\` must look like redis://host:port, got \`${redactCredentials(url)}\``, undefined);
  }
  return url;
}

/**
 * JWKS_URL: an http(s) URL without credentials. fetch() refuses a URL with credentials, so such a
 * JWKS could never be loaded; it is refused here, at start, rather than failing on every fetch.
 */
export function readJwksUrl(read: EnvReader): string | undefined {
  const url = read.text('JWKS_URL');
  if (url === undefined) return undefined;
  const parsed = parsedUrl(url);
  const shown = redactCredentials(url);
  if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    return read.problem(`\`JWKS_URL\` must be an http(s) URL like https://idp.example.com/.well-known/jwks.json, got \`${shown}\``, undefined);
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return read.problem(`\`JWKS_URL\` must not carry credentials (user:password@): fetch refuses such URLs, so the keys could never be loaded, got \`${shown}\``, undefined);
  }
  return url;
}
