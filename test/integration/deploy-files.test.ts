// The shipped deploy files pass their tools' own checks: `systemd-analyze verify` and `security` on
// the unit, `nginx -t` on the nginx.conf. No systemd runs here, so the unit is checked, not started.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NGINX_BIN, assertNginxInstalled, prepareNginx } from '../support/nginx.js';

const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const UNIT = readFileSync(join(ROOT, 'deploy/sse-server.service'), 'utf8');
/** blue/green instances that hand the durable log over to each other (docs/deploy.md) */
const TEMPLATE = readFileSync(join(ROOT, 'deploy/sse-server@.service'), 'utf8');
const SHIPPED_EXEC = 'ExecStart=/usr/bin/node /opt/sse-server/dist/src/server.js';
/** the server's defaults (docs/settings.md): DRAIN_MS, then the hard stop after it */
const DRAIN_MS = 2_000;
const HARD_STOP_MS = 5_000;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function assertSystemdAnalyze(): void {
  if (!existsSync(SYSTEMD_ANALYZE)) {
    throw new Error(`systemd-analyze is not installed (${SYSTEMD_ANALYZE} is missing): run \`make test-deps\` (apt-get install systemd)`);
  }
}

/**
 * The unit with ExecStart and WorkingDirectory pointing at this checkout and this node, so that
 * verify's only file-system check (the executable exists) holds wherever the tests run.
 */
function renderedUnit(edit: (unit: string) => string = (u) => u, source = UNIT, name = 'sse-server.service'): string {
  const server = join(ROOT, 'dist/src/server.js');
  if (!existsSync(server)) throw new Error(`${server} is missing: build first (make dist/.built)`);
  expect(source.split('\n').filter((l) => l === SHIPPED_EXEC), `the unit must have the line ${SHIPPED_EXEC}`).toHaveLength(1);
  const dir = mkdtempSync(join(tmpdir(), 'sse-unit-'));
  dirs.push(dir);
  const unit = edit(source.replace(SHIPPED_EXEC, `ExecStart=${process.execPath} ${server}`).replace('WorkingDirectory=/opt/sse-server', `WorkingDirectory=${ROOT}`));
  writeFileSync(join(dir, name), unit);
  // a template is verified as one of its instances
  return join(dir, name.replace('@.', '@blue.'));
}

function run(cmd: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** `Key=value` from the unit (the last one wins, as in systemd) */
function setting(key: string, unit = UNIT): string {
  const values = unit.split('\n').flatMap((l) => (l.startsWith(`${key}=`) ? [l.slice(key.length + 1)] : []));
  expect(values.length, `${key}= in the unit`).toBeGreaterThan(0);
  return values.at(-1)!;
}

describe('deploy/sse-server.service', () => {
  it('passes systemd-analyze verify with no message at all', () => {
    assertSystemdAnalyze();
    // verify exits 0 on unknown keys and unparsable values, and only prints them: silence is the check
    const r = run(SYSTEMD_ANALYZE, ['verify', renderedUnit()]);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('(the check has teeth: a misspelled key is reported)', () => {
    assertSystemdAnalyze();
    const r = run(SYSTEMD_ANALYZE, ['verify', renderedUnit((u) => u.replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'))]);
    expect(r.output).toContain("Unknown key 'NoNewPrivilege'");
  });

  it('stays hardened: systemd-analyze security rates its exposure at most 2.0 of 10', () => {
    assertSystemdAnalyze();
    // --threshold counts in tenths of the printed 0-10 level
    const r = run(SYSTEMD_ANALYZE, ['security', '--offline=true', '--threshold=20', renderedUnit()]);
    expect(r.status, r.output.split('\n').filter((l) => l.includes('Overall') || l.startsWith('✗')).join('\n')).toBe(0);
  });

  it("matches the server: SIGTERM, a stop timeout above its drain and hard stop, an fd limit the kernel allows", () => {
    expect(setting('KillSignal')).toBe('SIGTERM');
    const stop = /^(\d+)s$/.exec(setting('TimeoutStopSec'));
    expect(stop, 'TimeoutStopSec in seconds (e.g. 15s)').not.toBeNull();
    expect(Number(stop![1]) * 1_000).toBeGreaterThan(DRAIN_MS + HARD_STOP_MS);
    const nrOpen = Number(readFileSync('/proc/sys/fs/nr_open', 'utf8'));
    expect(Number(setting('LimitNOFILE'))).toBeLessThanOrEqual(nrOpen);
    expect(setting('Restart')).toBe('on-failure');
  });

  it('gives the durable log a directory it may write: DATA_DIR is the unit\'s StateDirectory on a system read-only to it', () => {
    expect(setting('ProtectSystem')).toBe('strict');
    const state = setting('StateDirectory');
    expect(UNIT).toMatch(new RegExp(`^Environment=DATA_DIR=%S/${state}$`, 'm'));
  });
});

describe('deploy/sse-server@.service (blue/green handover)', () => {
  const rendered = (): string => renderedUnit((u) => u, TEMPLATE, 'sse-server@.service');

  it('passes systemd-analyze verify with no message at all, and stays as hardened as the single unit', () => {
    assertSystemdAnalyze();
    const r = run(SYSTEMD_ANALYZE, ['verify', rendered()]);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
    const security = run(SYSTEMD_ANALYZE, ['security', '--offline=true', '--threshold=20', rendered()]);
    expect(security.status, security.output.split('\n').filter((l) => l.includes('Overall') || l.startsWith('✗')).join('\n')).toBe(0);
  });

  it('gives both instances one log, one uid and one port, and leaves a handed-over instance stopped', () => {
    expect(setting('StateDirectory', TEMPLATE)).toBe('sse-server');
    expect(TEMPLATE).toContain('Environment=DATA_DIR=%S/sse-server\n');
    // SO_REUSEPORT joins listeners of one uid only, and the log's files are that uid's
    expect(setting('DynamicUser', TEMPLATE)).toBe('yes');
    expect(setting('User', TEMPLATE)).toBe('sse-server');
    expect(TEMPLATE).not.toContain('%i/');
    expect(TEMPLATE).not.toMatch(/^Conflicts=/m); // a conflict would stop the old instance (a drain) instead of a handover
    expect(setting('Restart', TEMPLATE)).toBe('on-failure');
    expect(setting('RestrictAddressFamilies', TEMPLATE)).toContain('AF_UNIX'); // the handover socket
  });
});

describe('deploy/nginx.conf', () => {
  it('passes nginx -t as rendered for the tests (only paths and ports changed), with no warning', () => {
    assertNginxInstalled();
    const { dir, confPath } = prepareNginx(8080, 8081);
    dirs.push(dir);
    const r = run(NGINX_BIN, ['-t', '-p', dir, '-c', confPath]);
    expect(r.output).toContain('syntax is ok');
    expect(r.output).toContain('test is successful');
    // not root: nginx ignores `user` and says so; anything else is a real warning
    const notes = r.output.split('\n').filter((l) => /\[(warn|emerg|alert|crit|error)\]/.test(l) && !l.includes('the "user" directive makes sense only'));
    expect(notes).toEqual([]);
    expect(r.status).toBe(0);
  });
});
