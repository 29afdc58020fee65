// A handover that does not complete leaves the old server serving its history: a new process that
// goes away or reports failure after the release (spoken here over the handover socket itself, as a
// raw client, so the moment is exact), a real new process killed while it starts, and a second
// handover asked while one is in progress (refused, with the reason).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, tempDataDir, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

const ENTRY = fileURLToPath(new URL('../../dist/src/server.js', import.meta.url));
const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function serving(): Promise<{ server: TestServer; dir: string }> {
  const dir = tempDataDir();
  dirs.push(dir);
  const server = await startServer({ DATA_DIR: dir });
  servers.push(server);
  return { server, dir };
}

/** A raw client of the handover socket: each line the owner sends, parsed. */
function askForHandover(dir: string, ownerPid: number, port: number): { socket: Socket; messages: Record<string, unknown>[] } {
  const socket = connect(join(dir, `handover-${ownerPid}.sock`));
  const messages: Record<string, unknown>[] = [];
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buffered += d;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      messages.push(JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>);
      buffered = buffered.slice(nl + 1);
    }
  });
  socket.on('error', () => {});
  socket.write(`${JSON.stringify({ type: 'handover', pid: 999_999, port })}\n`);
  return { socket, messages };
}

async function phase(server: TestServer): Promise<string> {
  return ((await (await fetch(`${server.url}/healthz`)).json()) as { phase: string }).phase;
}

describe('a handover that does not complete', () => {
  it('after the release, the new process going away leaves the old one serving the same history, and a second handover meanwhile is refused', async () => {
    const { server, dir } = await serving();
    const first = await server.publish('t', 'before');
    const stream = await openStream(`${server.url}/events?topic=t`, { 'last-event-id': first });
    const a = askForHandover(dir, server.proc.pid!, server.port);
    await waitFor(() => a.messages.length > 0, 'the release');
    const [epoch, seq] = first.split('-');
    expect(a.messages[0]).toEqual({ type: 'released', epoch, lastSeq: Number(seq) });
    expect(await phase(server)).toBe('handing-over');
    const refused = await fetch(`${server.url}/publish?topic=t`, { method: 'POST', body: 'during' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(((await refused.json()) as { code: string }).code).toBe('DRAINING');

    const b = askForHandover(dir, server.proc.pid!, server.port);
    await waitFor(() => b.messages.length > 0, 'the answer to the second handover');
    expect(b.messages[0]).toEqual({ type: 'refused', reason: expect.stringMatching(/^a handover to pid 999999 is already in progress$/) });
    expect(server.output()).toContain('asked while the handover to pid 999999 is in progress: refused');

    a.socket.destroy();
    await waitFor(async () => (await phase(server)) === 'serving', 'serving again');
    expect(server.output()).toContain('handover to pid 999999 failed (the new process went away before it was serving): this server takes its log back and serves on');
    const next = await server.publish('t', 'after');
    expect(next).toBe(`${epoch}-${Number(seq) + 1}`);
    const events = await stream.waitForEvents(1);
    expect(events.map((e) => e.data)).toEqual(['after']);
    stream.close();
    // the retaken log is whole: a restart continues it under the same epoch
    expect(await server.stop()).toBe(0);
    const again = await startServer({ DATA_DIR: dir });
    servers.push(again);
    expect(await again.publish('t', 'restarted')).toBe(`${epoch}-${Number(seq) + 2}`);
  }, 60_000);

  // A publisher retrying a refusal with its Idempotency-Key must reach the new server: a refused
  // publish's keep-alive connection has to close now, not when the old server exits after DRAIN_MS.
  it.each([
    ['un-keyed', ''],
    ['keyed', 'Idempotency-Key: retry-me\r\n'],
  ])('during the handover, a %s publish with a body on a keep-alive connection is refused 503 DRAINING and the connection closed at once', async (_kind, keyHeader) => {
    const { server, dir } = await serving();
    await server.publish('t', 'before'); // the handover socket is up
    const socket = connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('latin1').on('data', (d: string) => (answer += d));
    const closed = once(socket, 'close');
    const a = askForHandover(dir, server.proc.pid!, server.port);
    await waitFor(() => a.messages.length > 0, 'the release');
    socket.write(`POST /publish?topic=t HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n${keyHeader}Content-Length: 6\r\n\r\nduring`);
    // the old build kept it open until uWS's idle timeout (10 s), and the retry waited for it
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error(`still open 5 s after: ${answer}`)), 5_000))]);
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(answer).toContain('"code":"DRAINING"');
    expect(await phase(server)).toBe('handing-over');
    a.socket.destroy();
    await waitFor(async () => (await phase(server)) === 'serving', 'serving again');
  }, 60_000);

  it('a new process that reports failure after the release leaves the old one serving', async () => {
    const { server, dir } = await serving();
    const first = await server.publish('t', 'before');
    const a = askForHandover(dir, server.proc.pid!, server.port);
    await waitFor(() => a.messages.length > 0, 'the release');
    a.socket.end(`${JSON.stringify({ type: 'failed', reason: 'cannot read the log: test' })}\n`);
    await waitFor(async () => (await phase(server)) === 'serving', 'serving again');
    expect(server.output()).toContain('handover to pid 999999 failed (cannot read the log: test)');
    const [epoch, seq] = first.split('-');
    expect(await server.publish('t', 'after')).toBe(`${epoch}-${Number(seq) + 1}`);
  }, 60_000);

  it('a real new process killed while it starts leaves the old one serving the same history', async () => {
    const { server, dir } = await serving();
    const first = await server.publish('t', 'before');
    const proc = spawn(process.execPath, [ENTRY], { env: { ...process.env, HOST: '127.0.0.1', PORT: String(server.port), SHARDS: TEST_SHARDS, DATA_DIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('asking it to hand over'), 'the new process asking', 30_000);
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    await waitFor(async () => (await phase(server)) === 'serving', 'the old server serving', 30_000);
    const [epoch, seq] = first.split('-');
    expect(await server.publish('t', 'after')).toBe(`${epoch}-${Number(seq) + 1}`);
  }, 60_000);
});
