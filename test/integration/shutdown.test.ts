// Graceful shutdown on SIGTERM and SIGINT: /healthz turns 503 `draining` on connections already
// open, new connections are refused, every stream gets the last accepted event and is then ended,
// the ends spread over DRAIN_MS (so clients do not all reconnect at once), and the process exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openStream, type RawStream } from '../helpers/sse-client.js';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/server.js', import.meta.url));

const DRAIN_MS = 1_000;
const STREAMS = 20;

type Answer = { status: number; body: string; socket: unknown } | { error: string };

/** A request through `agent` (or a fresh connection): an answer, or the socket error code. */
function request(method: string, url: string, agent: http.Agent | false, body?: string): Promise<Answer> {
  return new Promise((resolve) => {
    const req = http.request(url, { method, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: res.socket }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(body);
  });
}

/** The exit of `proc`, whether it already happened or not: `0`, another code, or the signal that killed it. */
function exitOf(proc: ChildProcess): Promise<number | NodeJS.Signals | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.signalCode ?? proc.exitCode);
  return (once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>).then(([code, signal]) => signal ?? code);
}

const get = (url: string, agent: http.Agent | false): Promise<Answer> => request('GET', url, agent);

describe('graceful shutdown', () => {
  let server: TestServer | undefined;
  let streams: RawStream[] = [];
  let agent: http.Agent | undefined;

  afterEach(async () => {
    for (const s of streams) s.close();
    streams = [];
    agent?.destroy();
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
      const exited = exitOf(server.proc);
      server.proc.kill('SIGKILL');
      await exited;
    }
    server = undefined;
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s drains every stream over DRAIN_MS and exits 0', async (signal) => {
    server = await startServer({ DRAIN_MS: String(DRAIN_MS) });
    const { proc, url } = server;

    streams = await Promise.all(Array.from({ length: STREAMS }, () => openStream(`${url}/events?topic=bye`)));
    for (const s of streams) expect(s.status).toBe(200);
    await waitFor(async () => (await server!.metric('sse_connections')) === STREAMS, `${STREAMS} connections`);

    // a keep-alive connection opened before the signal, reused for every /healthz below
    agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const before = await get(`${url}/healthz`, agent);
    if ('error' in before) throw new Error(`/healthz failed: ${before.error}`);
    expect(before.status).toBe(200);
    expect(JSON.parse(before.body)).toMatchObject({ status: 'ok' });

    // the last event accepted before the signal must reach every stream before it is ended
    const lastId = await server.publish('bye', 'last words');

    const closedAt: number[] = new Array(STREAMS);
    const allEnded = Promise.all(streams.map((s, i) => s.ended.then(() => (closedAt[i] = Date.now()))));
    const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const exitedAt = exited.then(() => Date.now());
    const t0 = Date.now();
    proc.kill(signal);

    // The keep-alive connection sees the draining state (the streams keep the server up for DRAIN_MS).
    const draining = await waitFor(async () => {
      const a = await get(`${url}/healthz`, agent!);
      if ('error' in a) throw new Error(`the keep-alive connection failed before /healthz said draining: ${a.error}`);
      return a.status === 503 && a;
    }, '/healthz 503 on the keep-alive connection', DRAIN_MS + 1_000);
    expect(JSON.parse(draining.body)).toMatchObject({ status: 'draining' });
    // on the very connection opened before the signal
    expect(draining.socket).toBe(before.socket);

    // a publish on that connection is refused with 503 DRAINING, and nothing is published
    const refused = await request('POST', `${url}/publish?topic=bye`, agent, 'too late');
    if ('error' in refused) throw new Error(`publish while draining failed: ${refused.error}`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: expect.any(String), code: 'DRAINING' });

    // a new connection is refused (the listen socket is closed), or answered 503
    const fresh = await get(`${url}/healthz`, false);
    if ('error' in fresh) expect(fresh.error).toMatch(/ECONNREFUSED|ECONNRESET/);
    else expect(fresh.status).toBe(503);
    const freshStream = await openStream(`${url}/events?topic=bye`).then(
      (s) => {
        s.close();
        return s.status;
      },
      (e: NodeJS.ErrnoException) => e.code,
    );
    expect(['ECONNREFUSED', 'ECONNRESET', 200, 503]).toContain(freshStream);

    await allEnded;
    for (const t of closedAt) expect(t - t0).toBeLessThan(DRAIN_MS + 1_000);
    const spread = Math.max(...closedAt) - Math.min(...closedAt);
    expect(spread, `stream ends spread over ${spread} ms`).toBeGreaterThan(300);
    // not bunched: some ended in the first half of the window and some in the second
    const mid = Math.min(...closedAt) + spread / 2;
    expect(closedAt.filter((t) => t < mid).length).toBeGreaterThanOrEqual(STREAMS / 4);
    expect(closedAt.filter((t) => t >= mid).length).toBeGreaterThanOrEqual(STREAMS / 4);

    for (const s of streams) {
      expect(s.events.map((e) => e.id)).toEqual([lastId]);
      // ended by the server with a clean end of the chunked body, not a reset
      expect(s.error).toBeUndefined();
    }

    const [code, bySignal] = await exited;
    expect(bySignal).toBeNull();
    expect(code).toBe(0);
    expect((await exitedAt) - t0).toBeLessThan(DRAIN_MS + 3_000);
    expect(server.output()).toContain(`${signal}: draining ${DRAIN_MS} ms`);
    expect(server.output()).not.toMatch(/took too long|fatal|error/i);
  });

  it('exits 0 at once with no streams open', async () => {
    server = await startServer({ DRAIN_MS: String(DRAIN_MS) });
    // /metrics is rendered by the main thread: once it answers, the main thread is past its start-up
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    const exited = exitOf(server.proc);
    const t0 = Date.now();
    server.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    // nothing to drain: no reason to wait for the window
    expect(Date.now() - t0).toBeLessThan(DRAIN_MS);
  });

  // A process manager may stop a server as soon as it is up. The server is listening (its port
  // accepts connections) when it prints its `settings` and `listening on` lines, but it installs its
  // SIGTERM/SIGINT handlers only after them, so a signal in that window kills it with the default
  // action: no drain, no exit 0. The window is short: the signal is sent from the very callback
  // that sees the first of those lines (startServer would add a few ticks), over several attempts.
  it('a SIGTERM as soon as the server is listening still shuts down gracefully', async () => {
    const outcomes: (number | NodeJS.Signals | null)[] = [];
    for (let i = 0; i < 12; i++) {
      const proc = spawn(process.execPath, [ENTRY], {
        env: { ...process.env, HOST: '127.0.0.1', PORT: '0', SHARDS: TEST_SHARDS, DRAIN_MS: String(DRAIN_MS) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (/^settings /m.test(out) && !proc.killed) proc.kill('SIGTERM');
      });
      const outcome = await exitOf(proc);
      outcomes.push(outcome);
      expect(out).toMatch(/^settings /m);
      if (outcome !== 0) break;
    }
    expect(outcomes.filter((o) => o !== 0), `exits: ${outcomes.join(', ')}`).toEqual([]);
  }, 120_000); // twelve starts and drains: 2.5 s each on a busy machine
});
