// docs/settings.md is the reference for the environment: every variable src/config reads has one row
// there, and every row names a variable src/config reads. The names read are observed, not listed by
// hand: loadConfig and the uWS header limit run over an env that records each name asked for.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULTS, loadConfig } from '../../../src/config/config.js';
import { raiseUwsHeaderLimit } from '../../../src/config/uws-limits.js';

/** Names asked for while reading `values`. */
function namesRead(values: Record<string, string>): Set<string> {
  const asked = new Set<string>();
  const record = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(t, name, receiver) {
        if (typeof name === 'string') asked.add(name);
        return Reflect.get(t, name, receiver);
      },
    });
  try {
    loadConfig(record({ ...values }));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err; // set values may be refused; the reads still happened
  }
  raiseUwsHeaderLimit(record({ ...values }));
  return asked;
}

/** Every name src/config reads: unset first, then with every name seen so far set, until no new one appears (reads that depend on another variable). */
function configVariables(): string[] {
  let known = namesRead({});
  for (;;) {
    const next = namesRead(Object.fromEntries([...known].map((n) => [n, 'x'])));
    if ([...next].every((n) => known.has(n))) return [...known].sort();
    known = new Set([...known, ...next]);
  }
}

interface Row {
  name: string;
  cells: string[];
}

/** Table rows whose first cell is one `NAME` in backticks. */
function envRows(file: string): Row[] {
  const text = readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), 'utf8');
  const rows: Row[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('|')) continue;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0] ?? '')?.[1];
    if (name !== undefined) rows.push({ name, cells });
  }
  return rows;
}

const read = configVariables();
const rows = envRows('docs/settings.md');

describe('docs/settings.md', () => {
  it('finds what src/config reads', () => {
    expect(read).toEqual(expect.arrayContaining(['PORT', 'JWKS_URL', 'PRESENCE_INTERVAL_MS', 'UWS_HTTP_MAX_HEADERS_SIZE']));
  });

  it('has one row for every variable src/config reads, and no other', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(read);
  });

  it('states the defaults of src/config/config.ts', () => {
    for (const [name, value] of Object.entries(DEFAULTS)) {
      if (name === 'SHARDS') continue; // computed from the cores: the row says how
      const row = rows.find((r) => r.name === name);
      expect(row?.cells[1], name).toBe(`\`${value}\``);
    }
  });

  it('the README table of common settings names only variables src/config reads', () => {
    const readme = envRows('README.md').map((r) => r.name);
    expect(readme.length).toBeGreaterThan(0);
    expect(readme.filter((n) => !read.includes(n))).toEqual([]);
  });
});
