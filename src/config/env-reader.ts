// Reads typed settings from an environment map and collects every problem instead of stopping at
// the first, so one start-up message lists all of them. Shared by the server's config and the bench.
export type Env = Readonly<Record<string, string | undefined>>;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `24h`, `7d`, `250ms` or `0`, in ms; undefined for anything else. */
export function parseDuration(raw: string): number | undefined {
  const m = /^(\d{1,9})(ms|s|m|h|d)?$/.exec(raw.trim());
  if (m === null || (m[2] === undefined && m[1] !== '0')) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** The raw value, or undefined when unset or blank. */
  text(name: string): string | undefined {
    const raw = this.env[name];
    return raw === undefined || raw.trim() === '' ? undefined : raw;
  }

  /** The value exactly as set, blank included (undefined only when unset). */
  raw(name: string): string | undefined {
    return this.env[name];
  }

  /** A duration like `90s`, `30m`, `24h`, `7d` or `0` (none), in ms; the fallback is written the same way. */
  duration(name: string, fallback: number | string): number {
    const fallbackMs = typeof fallback === 'number' ? fallback : parseDuration(fallback)!;
    const raw = this.text(name);
    if (raw === undefined) return fallbackMs;
    const ms = parseDuration(raw);
    return ms ?? this.problem(`\`${name}\` must be a duration like 90s, 30m, 24h or 7d, or 0, got \`${raw}\``, fallbackMs);
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      return this.problem(`\`${name}\` must be an integer from ${min} to ${max}, got \`${raw}\``, fallback);
    }
    return value;
  }

  number(name: string, fallback: number, min: number, max: number): number {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      return this.problem(`\`${name}\` must be a number from ${min} to ${max}, got \`${raw}\``, fallback);
    }
    return value;
  }

  oneOf<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      return this.problem(`\`${name}\` must be one of ${allowed.join(', ')}, got \`${raw}\``, fallback);
    }
    return raw as T;
  }

  /** Comma-separated items, each accepted by `valid`; `what` describes a good value in the message. */
  list<T extends string>(name: string, fallback: T[], valid: (item: string) => boolean, what: string): T[] {
    const raw = this.text(name);
    if (raw === undefined) return fallback;
    const items = raw.split(',').map((x) => x.trim()).filter(Boolean);
    if (items.length === 0 || !items.every(valid)) return this.problem(`\`${name}\` must list ${what}, got \`${raw}\``, fallback);
    return items as T[];
  }

  ints(name: string, fallback: number[], min: number, max: number): number[] {
    const inRange = (x: string): boolean => /^\d+$/.test(x) && Number(x) >= min && Number(x) <= max;
    const items = this.list(name, fallback.map(String), inRange, `integers from ${min} to ${max}, like 1,16,256`);
    return items.map(Number);
  }

  problem<T>(message: string, fallback: T): T {
    this.problems.push(message);
    return fallback;
  }
}
