// The console's static files (the page at GET /, its script and style, the charting library) and the
// browser client's modules (/client.js) carry a strong ETag with Cache-Control: no-cache;
// If-None-Match with that tag answers 304 without a body.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/intake/errors.js';
import { TOPIC } from '../../src/intake/topics.js';
import { rawExchange, statuses } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const FILES: Array<[string, string]> = [
  ['/', 'text/html; charset=utf-8'],
  ['/console/console.js', 'text/javascript; charset=utf-8'],
  ['/console/console.css', 'text/css; charset=utf-8'],
  ['/console/uplot.js', 'text/javascript; charset=utf-8'],
  ['/console/uplot.css', 'text/css; charset=utf-8'],
  ['/client.js', 'text/javascript; charset=utf-8'],
  ['/client/index.js', 'text/javascript; charset=utf-8'],
  ['/client/sse-parser.js', 'text/javascript; charset=utf-8'],
];
const STRONG_ETAG = /^"[A-Za-z0-9_-]{22}"$/;

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server.stop();
});

async function etagOf(path: string): Promise<string> {
  const res = await fetch(`${server.url}${path}`);
  await res.arrayBuffer();
  return res.headers.get('etag')!;
}

describe.each(FILES)('GET %s', (path, type) => {
  it('answers 200 with a strong ETag, Cache-Control: no-cache, the same tag every time', async () => {
    const res = await fetch(`${server.url}${path}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    expect(res.headers.get('etag')).toMatch(STRONG_ETAG);
    expect(await etagOf(path)).toBe(res.headers.get('etag'));
  });

  it('answers 304 without a body to If-None-Match naming its tag (alone, in a list, weak, or *), with the tag and Cache-Control', async () => {
    const etag = await etagOf(path);
    for (const ifNoneMatch of [etag, `"other", ${etag}`, `W/${etag}`, '*']) {
      const res = await fetch(`${server.url}${path}`, { headers: { 'if-none-match': ifNoneMatch } });
      expect(res.status, ifNoneMatch).toBe(304);
      expect(res.headers.get('etag')).toBe(etag);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toBe('');
    }
  });

  it('answers 200 with the whole file to If-None-Match naming other tags', async () => {
    const full = await (await fetch(`${server.url}${path}`)).arrayBuffer();
    const res = await fetch(`${server.url}${path}`, { headers: { 'if-none-match': '"stale-version", W/"older"' } });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(full))).toBe(true);
  });
});

describe('304 on the wire', () => {
  it('carries no body and no Content-Length: a pipelined request behind it is read right, GET and HEAD', async () => {
    const etag = await etagOf('/console/console.js');
    const conditional = (method: string): string => `${method} /console/console.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n`;
    const answer = await rawExchange(server.port, `${conditional('GET')}${conditional('HEAD')}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`, { untilAnswers: 3, bodiless: 2 });
    expect(statuses(answer.reply)).toEqual([304, 304, 200]);
    const [first, second] = answer.reply.split('\r\n\r\n') as [string, string];
    expect(first).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(first).not.toMatch(/\r\ncontent-length:/i);
    expect(first).not.toMatch(/\r\ntransfer-encoding:/i);
    expect(first).toContain(`\r\nETag: ${etag}`);
    // nothing between the 304's head and the next status line
    expect(second).toMatch(/^HTTP\/1\.1 304 /);
    expect(answer.reply).toContain('"status":"ok"');
  });
});

describe('the files are the checkout\'s', () => {
  it('serves src/transport/console/ as it is, and the page with the server\'s topic rule in place of its marker', async () => {
    const dir = new URL('../../src/transport/console/', import.meta.url);
    for (const name of ['console.js', 'console.css']) {
      expect(await (await fetch(`${server.url}/console/${name}`)).text()).toBe(readFileSync(new URL(name, dir), 'utf8'));
    }
    const page = await (await fetch(`${server.url}/`)).text();
    const [before, after] = readFileSync(new URL('index.html', dir), 'utf8').split('{{server-rules}}') as [string, string];
    expect(page.startsWith(before) && page.endsWith(after)).toBe(true);
    expect(JSON.parse(page.slice(before.length, page.length - after.length))).toEqual({ topic: TOPIC.source, badTopic: ERRORS.BAD_TOPIC.message });
  });
});

describe('the browser client', () => {
  const built = new URL('../../dist/client/', import.meta.url);

  it('/client.js is a stable entry re-exporting /client/index.js; every built module is served as built, nothing else under /client/', async () => {
    expect(await (await fetch(`${server.url}/client.js`)).text()).toBe("export * from './client/index.js';\n");
    const modules = readdirSync(built).filter((n) => n.endsWith('.js'));
    expect(modules).toContain('index.js');
    for (const name of modules) {
      expect(await (await fetch(`${server.url}/client/${name}`)).text(), name).toBe(readFileSync(new URL(name, built), 'utf8'));
    }
    for (const path of ['/client/no-such-module.js', '/client/index.d.ts', '/client/../server.js', '/client/']) {
      expect((await fetch(`${server.url}${path}`)).status, path).toBe(404);
    }
  });

  it('is importable from the package as uws-sse-server/client (exports), with its types', () => {
    const root = new URL('../../', import.meta.url);
    const keys = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('uws-sse-server/client'); console.log(Object.keys(m).sort().join(','))"], { cwd: root, encoding: 'utf8' });
    expect(keys.trim()).toBe('ClientError,createSseParser,subscribe');
    expect(readdirSync(built)).toContain('index.d.ts');
  });
});
