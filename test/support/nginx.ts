// The real nginx (Debian's) running the shipped deploy/nginx.conf on free loopback ports in front of
// a server, for the tests and the bench's compression scenario. The file runs as shipped except for
// the lines its header lists: pid, logs and temp files go to a temporary folder, the listen and
// upstream ports are the caller's, the TLS port (HTTP/2) gets a throwaway self-signed certificate
// for 127.0.0.1, and with `gzip` (the bench) nginx compresses the streams.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

export const NGINX_BIN = '/usr/sbin/nginx';
/** the shipped file, whether this module runs from test/support (vitest) or dist/test/support (the bench) */
export const NGINX_CONF = fileURLToPath(new URL(`${import.meta.url.includes('/dist/test/') ? '../' : ''}../../deploy/nginx.conf`, import.meta.url));

export function assertNginxInstalled(): void {
  if (!existsSync(NGINX_BIN)) {
    throw new Error(`nginx is not installed (${NGINX_BIN} is missing): run \`make test-deps\` (apt-get install nginx)`);
  }
}

/**
 * Replaces the one line whose text (trimmed) is `line`. Throws unless there is exactly one, so an
 * edit to the shipped file cannot silently leave a production path or port in the test's copy.
 */
function replaceLine(conf: string, line: string, replacement: string): string {
  const lines = conf.split('\n');
  const at = lines.flatMap((l, i) => (l.trim() === line ? [i] : []));
  if (at.length !== 1) throw new Error(`deploy/nginx.conf must have the line \`${line}\` exactly once (found ${at.length}): the test renders the file by replacing it`);
  lines[at[0]!] = replacement;
  return lines.join('\n');
}

export interface NginxOptions {
  /** `gzip on` for event streams wherever the file says `gzip off` (per connection, nginx's default level 1) */
  gzip?: boolean;
  /** called with the nginx master process, e.g. to kill it with its parent */
  onSpawn?: (child: ChildProcess) => void;
}

export function renderNginxConf(opts: { dir: string; listenPort: number; tlsPort: number; upstreamPort: number; gzip?: boolean }): string {
  const { dir } = opts;
  let conf = readFileSync(NGINX_CONF, 'utf8');
  conf = replaceLine(conf, 'pid /run/nginx.pid;', `pid ${dir}/nginx.pid;`);
  conf = replaceLine(conf, 'error_log /var/log/nginx/error.log warn;', `error_log ${dir}/error.log warn;`);
  conf = replaceLine(conf, 'access_log /var/log/nginx/access.log;', `    access_log ${dir}/access.log;`);
  // Debian's compiled-in temp folders are under /var/lib/nginx; nginx creates all five at start.
  const temps = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${dir}/${t}_temp;`);
  conf = replaceLine(conf, 'http {', ['http {', ...temps].join('\n'));
  conf = replaceLine(conf, 'listen 80 backlog=4096;', `        listen 127.0.0.1:${opts.listenPort} backlog=4096;`);
  conf = replaceLine(conf, 'listen 443 ssl http2 backlog=4096;', `        listen 127.0.0.1:${opts.tlsPort} ssl http2 backlog=4096;`);
  conf = replaceLine(conf, 'ssl_certificate /etc/nginx/tls/fullchain.pem;', `        ssl_certificate ${dir}/cert.pem;`);
  conf = replaceLine(conf, 'ssl_certificate_key /etc/nginx/tls/privkey.pem;', `        ssl_certificate_key ${dir}/key.pem;`);
  conf = replaceLine(conf, 'server 127.0.0.1:8080;', `        server 127.0.0.1:${opts.upstreamPort};`);
  if (opts.gzip === true) {
    const off = /^( *)gzip off;$/gm;
    if (!off.test(conf)) throw new Error('deploy/nginx.conf has no `gzip off;` line left to turn on');
    conf = conf.replace(off, '$1gzip on;\n$1gzip_types text/event-stream;');
  }
  return conf;
}

/** A self-signed certificate for 127.0.0.1 (EC P-256: made in milliseconds), valid one day: cert.pem and key.pem in `dir`. */
function throwawayCertificate(dir: string): void {
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'pipe' });
}

/** A folder for one nginx run, with the rendered config and a throwaway certificate in it. */
export function prepareNginx(listenPort: number, upstreamPort: number, gzip = false, tlsPort = listenPort + 1): { dir: string; confPath: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sse-nginx-'));
  // run as root, nginx's workers switch to `user www-data` and must reach the temp folders in here
  chmodSync(dir, 0o755);
  throwawayCertificate(dir);
  const confPath = join(dir, 'nginx.conf');
  writeFileSync(confPath, renderNginxConf({ dir, listenPort, tlsPort, upstreamPort, gzip }));
  return { dir, confPath };
}

export interface TestNginx {
  /** plain HTTP/1.1 */
  url: string;
  port: number;
  /** https://127.0.0.1:<tlsPort>: HTTP/2 (ALPN h2) or HTTP/1.1 over TLS, with `certificate` */
  httpsUrl: string;
  tlsPort: number;
  /** the throwaway certificate (PEM) the TLS port presents: a client trusts it as its CA */
  certificate: string;
  proc: ChildProcess;
  /** nginx's stderr and its error log */
  output(): string;
  /** fast shutdown (SIGTERM: open streams are cut, not waited for), then the folder is removed */
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export async function startNginx(upstreamPort: number, opts: NginxOptions = {}): Promise<TestNginx> {
  assertNginxInstalled();
  const port = await freePort();
  let tlsPort = await freePort();
  while (tlsPort === port) tlsPort = await freePort();
  const { dir, confPath } = prepareNginx(port, upstreamPort, opts.gzip, tlsPort);
  const proc = spawn(NGINX_BIN, ['-p', dir, '-c', confPath, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  opts.onSpawn?.(proc);
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const output = (): string => {
    const log = join(dir, 'error.log');
    return out + (existsSync(log) ? readFileSync(log, 'utf8') : '');
  };
  const exited = once(proc, 'exit').then(([code]) => {
    throw new Error(`nginx exited with ${String(code)} before listening:\n${output()}`);
  });
  exited.catch(() => undefined);
  const listening = async (): Promise<void> => {
    for (let i = 0; !((await accepts(port)) && (await accepts(tlsPort))); i++) {
      if (i > 400) throw new Error(`nginx did not accept on port ${port} within 10 s:\n${output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  await Promise.race([listening(), exited]);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    httpsUrl: `https://127.0.0.1:${tlsPort}`,
    tlsPort,
    certificate: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    proc,
    output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const done = once(proc, 'exit');
        proc.kill('SIGTERM');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
