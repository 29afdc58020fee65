// The access-control variables (JWT key sources and claims, per-address limits, trusted proxies,
// the request-head size uWS accepts), read and checked with the same EnvReader as the rest of the
// config, so one start-up message lists every problem. loadConfig spreads the result into Config.
import { readFileSync } from 'node:fs';
import { parseCidr } from '../intake/ip.js';
import { keyFromPem, SUPPORTED_ALGORITHMS } from '../intake/jwt-keys.js';
import type { EnvReader } from './env-reader.js';
import { readJwksUrl } from './urls.js';
import { MIN_HEADERS_SIZE, UWS_HEADERS_SIZE_DEFAULT } from './uws-limits.js';

export interface AccessControlConfig {
  /** JWT_PUBLIC_KEY_FILE and its PEM text (read and checked at start) */
  readonly jwtPublicKeyFile: string | undefined;
  readonly jwtPublicKeyPem: string | undefined;
  readonly jwksUrl: string | undefined;
  /** how long a fetched JWKS is used before it is fetched again (s) */
  readonly jwksCacheS: number;
  /** JWT_ALGORITHMS; undefined = whatever the configured keys allow */
  readonly jwtAlgorithms: readonly string[] | undefined;
  readonly jwtIssuer: string | undefined;
  readonly jwtAudience: string | undefined;
  readonly jwtTopicsClaim: string;
  readonly jwtPublishClaim: string;
  readonly jwtClockToleranceS: number;
  /** streams per client address across shards; 0 = no limit */
  readonly maxConnectionsPerIp: number;
  /** proxies (addresses, CIDRs) whose X-Forwarded-For is believed */
  readonly trustProxy: readonly string[];
  /** UWS_HTTP_MAX_HEADERS_SIZE: the largest request head uWS reads (bytes) */
  readonly maxHeadersSize: number;
}

export const ACCESS_CONTROL_DEFAULTS = {
  jwtPublicKeyFile: undefined,
  jwtPublicKeyPem: undefined,
  jwksUrl: undefined,
  jwksCacheS: 300,
  jwtAlgorithms: undefined,
  jwtIssuer: undefined,
  jwtAudience: undefined,
  jwtTopicsClaim: 'topics',
  jwtPublishClaim: 'publish',
  jwtClockToleranceS: 5,
  maxConnectionsPerIp: 0,
  trustProxy: [],
  maxHeadersSize: UWS_HEADERS_SIZE_DEFAULT,
} as const satisfies AccessControlConfig;

const D = ACCESS_CONTROL_DEFAULTS;

function readPublicKeyFile(read: EnvReader, file: string | undefined): string | undefined {
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (err) {
    return read.problem(`\`JWT_PUBLIC_KEY_FILE\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (\`${file}\`)`, undefined);
  }
  const key = keyFromPem(pem);
  if (!key.ok) return read.problem(`\`JWT_PUBLIC_KEY_FILE\` ${key.problem} (\`${file}\`)`, undefined);
  return pem;
}

function readClaimName(read: EnvReader, name: string, fallback: string): string {
  const raw = read.text(name);
  if (raw === undefined) return fallback;
  if (raw.length > 256 || raw.trim() !== raw) return read.problem(`\`${name}\` must be a claim name (at most 256 characters, no surrounding spaces), got \`${raw}\``, fallback);
  return raw;
}

export function readAccessControl(read: EnvReader, jwtSecret: string | undefined): AccessControlConfig {
  const jwtPublicKeyFile = read.text('JWT_PUBLIC_KEY_FILE');
  const jwtPublicKeyPem = readPublicKeyFile(read, jwtPublicKeyFile);
  const jwksUrl = readJwksUrl(read);
  const before = read.problems.length;
  const algorithms = read.list('JWT_ALGORITHMS', [], (a) => SUPPORTED_ALGORITHMS.includes(a), `algorithms among ${SUPPORTED_ALGORITHMS.join(', ')} (never none)`);
  // a refused list stays undefined, so it is not reported a second time below
  const jwtAlgorithms = read.text('JWT_ALGORITHMS') === undefined || read.problems.length > before ? undefined : Object.freeze([...new Set(algorithms)]);
  const jwtTopicsClaim = readClaimName(read, 'JWT_TOPICS_CLAIM', D.jwtTopicsClaim);
  const jwtPublishClaim = readClaimName(read, 'JWT_PUBLISH_CLAIM', D.jwtPublishClaim);
  if (jwtTopicsClaim === jwtPublishClaim) {
    read.problems.push(`\`JWT_TOPICS_CLAIM\` and \`JWT_PUBLISH_CLAIM\` must differ (both \`${jwtTopicsClaim}\`): every subscriber could publish`);
  }
  const trustProxy = read.list('TRUST_PROXY', [], (e) => parseCidr(e) !== undefined, 'IP addresses or CIDRs, like 127.0.0.1,10.0.0.0/8,::1');

  const keySource = jwtSecret !== undefined || jwtPublicKeyFile !== undefined || jwksUrl !== undefined;
  if (!keySource) {
    const needKeys = ['JWT_ALGORITHMS', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_TOPICS_CLAIM', 'JWT_PUBLISH_CLAIM', 'JWT_CLOCK_TOLERANCE_S'].filter((n) => read.text(n) !== undefined);
    for (const n of needKeys) read.problems.push(`\`${n}\` needs a key source: set \`JWT_SECRET\`, \`JWT_PUBLIC_KEY_FILE\` or \`JWKS_URL\``);
  }
  if (read.text('JWKS_CACHE_S') !== undefined && read.text('JWKS_URL') === undefined) {
    read.problems.push('`JWKS_CACHE_S` needs `JWKS_URL`');
  }
  if (jwtAlgorithms !== undefined && jwksUrl === undefined && (jwtPublicKeyPem !== undefined || jwtSecret !== undefined)) {
    const byKeys = new Set<string>([...(jwtSecret !== undefined ? ['HS256'] : [])]);
    if (jwtPublicKeyPem !== undefined) {
      const key = keyFromPem(jwtPublicKeyPem);
      if (key.ok) for (const a of key.key.algorithms) byKeys.add(a);
    }
    if (!jwtAlgorithms.some((a) => byKeys.has(a))) {
      read.problems.push(`\`JWT_ALGORITHMS\` allows none of the algorithms of the configured keys (${[...byKeys].join(', ')}), got \`${jwtAlgorithms.join(',')}\``);
    }
  }

  return {
    jwtPublicKeyFile,
    jwtPublicKeyPem,
    jwksUrl,
    jwksCacheS: read.int('JWKS_CACHE_S', D.jwksCacheS, 1, 86_400),
    jwtAlgorithms,
    jwtIssuer: read.text('JWT_ISSUER'),
    jwtAudience: read.text('JWT_AUDIENCE'),
    jwtTopicsClaim,
    jwtPublishClaim,
    jwtClockToleranceS: read.int('JWT_CLOCK_TOLERANCE_S', D.jwtClockToleranceS, 0, 300),
    maxConnectionsPerIp: read.int('MAX_CONNECTIONS_PER_IP', D.maxConnectionsPerIp, 0, 10_000_000),
    trustProxy: Object.freeze(trustProxy),
    maxHeadersSize: read.int('UWS_HTTP_MAX_HEADERS_SIZE', D.maxHeadersSize, MIN_HEADERS_SIZE, 1_048_576),
  };
}
