// CORS for listed origins only, /healthz and /metrics, MAX_CONNECTIONS shedding (a retry-only stream
// for EventSource, 503 + Retry-After for others), a bad setting stopping the server with a clear
// message, and HTTPS with TLS_CERT_FILE/TLS_KEY_FILE.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const A = 'https://a.example';
const B = 'https://b.example';

function corsHeaders(res: Response): string[] {
  return [...res.headers.keys()].filter((k) => k.startsWith('access-control-'));
}

describe('CORS_ORIGIN set', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ CORS_ORIGIN: `${A},${B}` });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([A, B])('a stream from listed origin %s gets Allow-Origin (that origin) and Allow-Credentials', async (origin) => {
    const stream = await openStream(`${server.url}/events?topic=cors`, { origin });
    stream.close();
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(origin);
    expect(stream.headers['access-control-allow-credentials']).toBe('true');
    expect(stream.headers['vary']).toMatch(/origin/i);
  });

  it.each([A, B])('a publish from listed origin %s gets them too, on success and on error', async (origin) => {
    const ok = await fetch(`${server.url}/publish?topic=cors`, { method: 'POST', body: 'x', headers: { origin } });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe(origin);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    const bad = await fetch(`${server.url}/publish?topic=bad%20topic`, { method: 'POST', body: 'x', headers: { origin } });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it.each(['https://c.example', 'https://a.example.evil.test', 'http://a.example', 'https://a.example:8443', 'null', 'https://A.EXAMPLE', `${A},${B}`])(
    'an unlisted origin %s is never reflected',
    async (origin) => {
      const stream = await openStream(`${server.url}/events?topic=cors`, { origin });
      stream.close();
      expect(stream.status).toBe(200);
      expect(stream.headers['access-control-allow-origin']).toBeUndefined();
      expect(stream.headers['access-control-allow-credentials']).toBeUndefined();
      const pub = await fetch(`${server.url}/publish?topic=cors`, { method: 'POST', body: 'x', headers: { origin } });
      expect(pub.status).toBe(202);
      expect(corsHeaders(pub)).toEqual([]);
      const pre = await fetch(`${server.url}/publish`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
      });
      expect(corsHeaders(pre)).toEqual([]);
    },
  );

  it('a preflight OPTIONS /publish from a listed origin answers 204 with Allow-Methods and Allow-Headers', async () => {
    const res = await fetch(`${server.url}/publish`, {
      method: 'OPTIONS',
      headers: { origin: B, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(B);
    expect(res.headers.get('access-control-allow-credentials')).toBe('true');
    const methods = (res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim().toUpperCase());
    expect(methods).toContain('POST');
    const headers = (res.headers.get('access-control-allow-headers') ?? '').split(',').map((h) => h.trim().toLowerCase());
    expect(headers).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(await res.text()).toBe('');
  });

  it('a preflight OPTIONS /topics from a listed origin answers 204, so a page can send the publisher token there', async () => {
    const res = await fetch(`${server.url}/topics/news`, {
      method: 'OPTIONS',
      headers: { origin: B, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(B);
    expect((res.headers.get('access-control-allow-methods') ?? '').split(',').map((m) => m.trim())).toContain('GET');
    expect((res.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
  });
});

describe('CORS_ORIGIN unset, /healthz, /metrics, MAX_CONNECTIONS', () => {
  const RETRY_MS = 1_500;
  let server: TestServer;
  const streams: RawStream[] = [];
  beforeAll(async () => {
    server = await startServer({ MAX_CONNECTIONS: '3', RETRY_MS: String(RETRY_MS) });
  });
  afterAll(async () => {
    for (const s of streams) s.close();
    await server?.stop();
  });

  it('sends no CORS headers at all, whatever the Origin', async () => {
    const pub = await fetch(`${server.url}/publish?topic=plain`, { method: 'POST', body: 'x', headers: { origin: A } });
    expect(pub.status).toBe(202);
    expect(corsHeaders(pub)).toEqual([]);
    const pre = await fetch(`${server.url}/publish`, { method: 'OPTIONS', headers: { origin: A, 'access-control-request-method': 'POST' } });
    expect(corsHeaders(pre)).toEqual([]);
    const stream = await openStream(`${server.url}/events?topic=plain`, { origin: A });
    stream.close();
    expect(stream.status).toBe(200);
    expect(Object.keys(stream.headers).filter((k) => k.startsWith('access-control-'))).toEqual([]);
    await waitFor(async () => (await server.metric('sse_connections')) === 0, 'the probe stream to be released');
  });

  it('/healthz answers 200 {status: "ok"}', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toMatchObject({ status: 'ok' });
  });

  it('/metrics is Prometheus text with the server metrics', async () => {
    await server.publish('plain', 'counted');
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE sse_connections gauge$/m);
    expect(text).toMatch(/^# TYPE sse_events_published_total counter$/m);
    expect(text).toMatch(/^# TYPE sse_deliveries_total counter$/m);
    expect(text).toMatch(/^# TYPE sse_history_events gauge$/m);
    expect(text).toMatch(/^# TYPE sse_publish_latency_seconds histogram$/m);
    expect(text).toMatch(/^sse_connections\{shard="0"\} \d+$/m);
    expect(text).toMatch(/^sse_deliveries_total\{shard="0"\} \d+$/m);
    expect(text).toMatch(/^sse_publish_latency_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
    // every sample line parses as `name{labels} value`
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      expect(line).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$/);
    }
    expect(await server.metric('sse_events_published_total')).toBeGreaterThanOrEqual(2);
    expect(await server.metric('sse_history_events')).toBeGreaterThanOrEqual(2);
  });

  it('over MAX_CONNECTIONS=3: an EventSource gets a closed 200 stream with a jittered retry, others 503', async () => {
    for (let i = 0; i < 3; i++) streams.push(await openStream(`${server.url}/events?topic=limit`));
    for (const s of streams) expect(s.status).toBe(200);
    await waitFor(async () => (await server.metric('sse_connections')) === 3, 'three connections');

    const retries: number[] = [];
    for (let i = 0; i < 5; i++) {
      const shed = await openStream(`${server.url}/events?topic=limit`);
      await shed.ended;
      expect(shed.status).toBe(200);
      expect(shed.headers['content-type']).toMatch(/^text\/event-stream/);
      expect(shed.events).toEqual([]);
      expect(shed.comments).toEqual([]);
      expect(shed.retry).toBeDefined();
      retries.push(shed.retry!);
    }
    for (const r of retries) {
      expect(r).toBeGreaterThanOrEqual(RETRY_MS);
      expect(r).toBeLessThanOrEqual(RETRY_MS + 2 * Math.max(RETRY_MS, 1000));
    }
    // jittered: five draws from a 3 s range are not all the same
    expect(new Set(retries).size).toBeGreaterThan(1);

    for (const accept of ['*/*', 'application/json']) {
      const res = await fetch(`${server.url}/events?topic=limit`, { headers: { accept } });
      const body = await res.text();
      expect(res.status, body).toBe(503);
      expect(JSON.parse(body)).toEqual({ error: expect.any(String), code: 'TOO_MANY_CONNECTIONS' });
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(RETRY_MS / 1000);
    }
    expect(await server.metric('sse_connections')).toBe(3);
    expect(await server.metric('sse_shed_connections_total')).toBe(7);

    // the three admitted streams are unharmed
    const id = await server.publish('limit', 'still here');
    for (const s of streams) expect((await s.waitForEvents(1)).map((e) => e.id)).toEqual([id]);
  });

  it('admits a new stream once one closes', async () => {
    streams.shift()!.close();
    await waitFor(async () => (await server.metric('sse_connections')) === 2, 'sse_connections to drop to 2');
    const next = await openStream(`${server.url}/events?topic=limit`);
    streams.push(next);
    expect(next.status).toBe(200);
    expect(next.retry).toBe(RETRY_MS);
    const id = await server.publish('limit', 'welcome');
    expect((await next.waitForEvents(1))[0]).toMatchObject({ id, data: 'welcome' });
    expect(next.closed).toBe(false);
    expect(await server.metric('sse_connections')).toBe(3);
  });
});

describe('bad configuration', () => {
  it('BATCH_SIZE=abc stops the server at start, naming the variable, the range and the value', async () => {
    const err = await startServer({ BATCH_SIZE: 'abc' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/server exited with [1-9]\d* before listening/);
    expect(err!.message).toContain('BATCH_SIZE');
    expect(err!.message).toContain('1 to 65536');
    expect(err!.message).toContain('abc');
  });

  /** The server's output when it refuses to start; it must exit 2, as for every config problem. */
  async function refusedStart(env: Record<string, string>): Promise<string> {
    const err = await startServer(env).then(
      async (started) => void (await started.stop()),
      (e: unknown) => e as Error,
    );
    expect(err?.message, 'the server started').toMatch(/server exited with 2 before listening/);
    return err!.message;
  }

  it.each(['https://*.example.com', 'https://a.example.com/app'])('CORS_ORIGIN=%s could never match an Origin: refused at start', async (origin) => {
    const out = await refusedStart({ CORS_ORIGIN: origin });
    expect(out).toContain(`\`CORS_ORIGIN\` must list origins like https://app.example.com (no paths, no *), got \`${origin}\``);
  });

  it.each([
    ['a space', 'my publish token 2024', 'must not contain whitespace or control characters'],
    ['fewer than 16 characters', 'short-token', 'must be at least 16 characters, got 11'],
  ])('PUBLISH_TOKEN with %s is refused at start, without echoing it', async (_what, token, message) => {
    const out = await refusedStart({ PUBLISH_TOKEN: token });
    expect(out).toContain(`\`PUBLISH_TOKEN\` ${message}`);
    expect(out).not.toContain(token);
  });

  it('JWKS_URL with credentials is refused at start, and the password appears nowhere', async () => {
    const out = await refusedStart({ JWKS_URL: 'https://user:hunter2-pass@127.0.0.1:9/certs' });
    expect(out).toContain('`JWKS_URL` must not carry credentials');
    expect(out).not.toContain('hunter2-pass');
  });

  it('lists every bad setting at once', async () => {
    const err = await startServer({ BATCH_SIZE: '0', RETRY_MS: 'soon', SLOW_CONSUMER: 'maybe' }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/BATCH_SIZE[^\n]*0/);
    expect(err?.message).toMatch(/RETRY_MS[^\n]*soon/);
    expect(err?.message).toMatch(/SLOW_CONSUMER[^\n]*maybe/);
  });
});

describe('TLS', () => {
  let dir: string;
  let server: TestServer;

  function httpsRequest(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(`${server.url}${path}`, { method, rejectUnauthorized: false, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  beforeAll(async () => {
    if (spawnSync('openssl', ['version']).error) {
      throw new Error('the TLS test needs the `openssl` command (apt-get install openssl): it was not found on PATH');
    }
    dir = mkdtempSync(join(tmpdir(), 'sse-tls-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'pipe' },
    );
    server = await startServer({ TLS_CERT_FILE: join(dir, 'cert.pem'), TLS_KEY_FILE: join(dir, 'key.pem') });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints an https URL', () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('serves an SSE stream and a publish over https', async () => {
    const received: EventSourceMessage[] = [];
    const comments: string[] = [];
    let res!: import('node:http').IncomingMessage;
    const req = https.get(
      `${server.url}/events?topic=secure`,
      { headers: { accept: 'text/event-stream' }, rejectUnauthorized: false, agent: false },
      (r) => {
        res = r;
        const parser = createParser({ onEvent: (e) => received.push(e), onComment: (c) => comments.push(c) });
        r.setEncoding('utf8');
        r.on('data', (chunk: string) => parser.feed(chunk));
      },
    );
    try {
      await waitFor(() => comments.length > 0, 'the stream to open over https');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      expect((res.socket as import('node:tls').TLSSocket).encrypted).toBe(true);

      const pub = await httpsRequest('POST', '/publish?topic=secure&event=tls', 'over tls');
      expect(pub.status).toBe(202);
      const { id } = JSON.parse(pub.body) as { id: string };
      await waitFor(() => received.length > 0, 'the event over https');
      expect(received).toEqual([expect.objectContaining({ id, event: 'tls', data: 'over tls' })]);

      const health = await httpsRequest('GET', '/healthz');
      expect(health.status).toBe(200);
    } finally {
      req.destroy();
    }
  });

  it('does not answer plain HTTP on the TLS port', async () => {
    const plain = await fetch(server.url.replace('https:', 'http:') + '/healthz').then(
      (r) => r.status,
      () => 'refused',
    );
    expect(plain).toBe('refused');
  });
});
