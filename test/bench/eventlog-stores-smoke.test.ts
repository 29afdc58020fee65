// A few-second run of `make bench-stores` with tiny knobs, so the stores bench cannot rot: every store
// is appended to in both modes, filled, reopened (it checks the newest sequence number), read back on
// the quiet topic (it checks the event) and cut by retention (it checks the newest quiet event stays).
// It runs in a temporary directory, so its results file never lands in results/. SQLite is left to
// `make bench-stores`: better-sqlite3 compiles from source here, about 4 minutes of every CI run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('../../dist/bench/eventlog-stores.js', import.meta.url));
const STORES = ['our log', 'LMDB (lmdb, sync', 'LMDB (lmdb, async', 'LevelDB'];

describe('make bench-stores (tiny knobs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-stores-smoke-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every store on both halves of the workload and writes a complete table', async () => {
    expect(existsSync(ENTRY), 'dist/bench/eventlog-stores.js is missing: build first (make test builds)').toBe(true);
    const env = { STORES_EVENTS: '3000', STORES_ROUNDS: '1', STORES_BATCHES: '4', STORES_FSYNC_BATCHES: '2', STORES_SEED: '500', STORES_SEGMENT_BYTES: '65536', STORES_DIR: dir, STORES_ONLY: 'our log,lmdb,leveldb' };
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(process.execPath, [ENTRY], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (c) => resolve({ code: c, output: out }));
    });
    expect(code, output).toBe(0);
    const md = readFileSync(join(dir, 'results', 'eventlog-stores.md'), 'utf8');
    for (const store of STORES) expect(md.split('\n').filter((l) => l.startsWith(`| ${store}`)), store).toHaveLength(2);
    expect(md).not.toMatch(/NaN|undefined|Infinity|SQLite \(/);
    expect(md).toMatch(/cores, .*Node v\d+/);
  }, 180_000);
});
