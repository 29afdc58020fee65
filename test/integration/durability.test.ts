// The durable event log (DATA_DIR) against the real server and real files: restarts keep the
// history (SIGTERM and kill -9, under publishing, with reconnecting `eventsource` clients), power
// loss (a cut tail) never lets an id name another event, one server per directory, a directory that
// cannot be used stops the start.
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startServer, tempDataDir, waitFor, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

const servers: TestServer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  for (const c of cleanups.splice(0)) c();
});

function dataDir(): string {
  const dir = tempDataDir();
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(env: Record<string, string>): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

interface Client {
  ids: string[];
  resets: number;
  es: EventSource;
}

describe('durable event log', () => {
  // DURABILITY=write answers at once, so a kill -9 may lose what was answered in its last few ms
  // (docs/durability.md); the kill -9 round runs with fsync, whose answers wait for the disk.
  it('restarts (SIGTERM with DURABILITY=write, kill -9 with fsync) under publishing: every subscriber gets every answered event exactly once, no reset', async () => {
    const dir = dataDir();
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port), RETRY_MS: '100', DRAIN_MS: '200' };
    let server = await start(env);
    const TOPICS = 5;
    const clients: Client[] = Array.from({ length: 50 }, (_, i) => {
      const es = new EventSource(`http://127.0.0.1:${port}/events?topic=t${i % TOPICS}`);
      const c: Client = { ids: [], resets: 0, es };
      es.onmessage = (e) => c.ids.push(e.lastEventId);
      es.addEventListener('reset', () => c.resets++);
      return c;
    });
    cleanups.push(() => clients.forEach((c) => c.es.close()));
    await waitFor(async () => (await server.metric('sse_connections')) >= clients.length, 'every client connected', 30_000);

    // Answered ids per topic, and what each id named (no id may ever name two events).
    const answered: string[][] = Array.from({ length: TOPICS }, () => []);
    let publishing = true;
    let sent = 0;
    const publisher = (async () => {
      while (publishing) {
        const n = sent++;
        try {
          const res = await fetch(`http://127.0.0.1:${port}/publish?topic=t${n % TOPICS}`, { method: 'POST', body: `e${n}` });
          if (res.status === 202) answered[n % TOPICS]!.push(((await res.json()) as { id: string }).id);
          else await res.arrayBuffer();
        } catch {
          await new Promise((r) => setTimeout(r, 20)); // the server is restarting: not answered, not counted
        }
      }
    })();
    const total = (): number => answered.reduce((n, a) => n + a.length, 0);
    const restart = async (signal: NodeJS.Signals, durability: string): Promise<void> => {
      const before = total();
      await waitFor(() => total() >= before + 150, 'publishes answered before the restart', 30_000);
      await server.stop(signal);
      servers.splice(servers.indexOf(server), 1);
      server = await start({ ...env, DURABILITY: durability });
    };
    await restart('SIGTERM', 'fsync');
    await restart('SIGKILL', 'fsync');
    const before = total();
    await waitFor(() => total() >= before + 150, 'publishes answered after the restarts', 30_000);
    publishing = false;
    await publisher;

    for (const [i, c] of clients.entries()) {
      const want = answered[i % TOPICS]!;
      await waitFor(() => want.every((id) => c.ids.includes(id)), `client ${i} has every answered event`, 30_000);
      expect(c.resets, `client ${i} resets`).toBe(0);
      expect(new Set(c.ids).size, `client ${i} duplicates`).toBe(c.ids.length);
    }
    // The kill -9 started a new epoch: three epochs' worth of ids, never the same id twice.
    const all = answered.flat();
    expect(new Set(all).size).toBe(all.length);
  }, 180_000);

  it('power loss (the tail of the last segment gone): old ids up to the last surviving event resume, later ones get a reset, no id is reused', async () => {
    const dir = dataDir();
    const first = await start({ DATA_DIR: dir, DURABILITY: 'fsync' });
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await first.publish('p', `old ${i}`)); // answered once synced: one record each
    await first.stop('SIGKILL');
    const segment = join(dir, readdirSync(dir).filter((n) => n.endsWith('.seg')).sort().at(-1)!);
    const size = statSync(segment).size;
    truncateSync(segment, size - Math.floor((size / 20) * 4.5)); // about four and a half records gone
    const second = await start({ DATA_DIR: dir });
    const m = /continues (\w+) up to (\d+)/.exec(second.output())!;
    expect(m, second.output()).not.toBeNull();
    const survived = Number(m[2]);
    expect(survived).toBeGreaterThanOrEqual(14);
    expect(survived).toBeLessThan(20);
    const fresh = await second.publish('p', 'new');
    expect(ids).not.toContain(fresh);

    const resumed = await openStream(`${second.url}/events?topic=p`, { 'last-event-id': ids[survived - 2]! });
    const [a, b] = await resumed.waitForEvents(2);
    expect([a!.id, a!.data, b!.id, b!.data]).toEqual([ids[survived - 1], `old ${survived - 1}`, fresh, 'new']);
    resumed.close();
    const lost = await openStream(`${second.url}/events?topic=p`, { 'last-event-id': ids[survived]! });
    const [reset] = await lost.waitForEvents(1);
    expect(reset!.event).toBe('reset');
    lost.close();
  }, 60_000);

  it('a second server on the same DATA_DIR and another PORT is refused with exit 2 and a message naming the directory (the same PORT is a handover)', async () => {
    const dir = dataDir();
    const owner = await start({ DATA_DIR: dir });
    await expect(start({ DATA_DIR: dir })).rejects.toThrow(
      new RegExp(`exited with 2 before listening:[\\s\\S]*DATA_DIR ${dir} is in use by another server \\(pid ${owner.proc.pid}\\), and it refused the handover: a handover needs the same PORT`),
    );
  });

  it('a DATA_DIR that cannot be created or written stops the start with exit 2', async () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'a-file'), '');
    await expect(start({ DATA_DIR: join(dir, 'a-file', 'data') })).rejects.toThrow(/exited with 2 before listening:\s+DATA_DIR .* cannot be created/);
  });

  it('DATA_DIR= (empty) keeps memory only: a restart begins a new history', async () => {
    const epochOf = (s: TestServer): string => /\(epoch (\w+)\)/.exec(s.output())![1]!;
    const s = await start({ DATA_DIR: '' });
    const before = epochOf(s);
    await s.publish('m', 'x');
    await s.stop();
    const again = await start({ DATA_DIR: '' });
    expect(epochOf(again)).not.toBe(before);
    expect(again.output()).not.toMatch(/event log/);
  });
});

describe('durable event log on a full disk', () => {
  /** A 512 KiB tmpfs: mounting needs root (or sudo without a password), as installing the test packages does. */
  function smallDisk(): string {
    const dir = dataDir();
    const asRoot = (cmd: string, args: string[]) => (process.getuid?.() === 0 ? spawnSync(cmd, args) : spawnSync('sudo', ['-n', cmd, ...args]));
    const r = asRoot('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir]);
    if (r.status !== 0) throw new Error(`cannot mount a small tmpfs for the full-disk test (needs root or sudo): ${r.stderr?.toString() ?? r.error?.message}`);
    cleanups.unshift(() => asRoot('umount', ['-l', dir]));
    return dir;
  }

  it('ENOSPC: publishes answer 503 STORAGE_UNAVAILABLE, streams stay up, publishing resumes by itself when space returns', async () => {
    const dir = smallDisk();
    const data = join(dir, 'log');
    const server = await start({ DATA_DIR: data, LOG_SEGMENT_BYTES: '65536' });
    const watcher = await openStream(`${server.url}/events?topic=f`);
    const filler = join(dir, 'filler');
    writeFileSync(filler, Buffer.alloc(300 * 1024));
    const answered: string[] = [];
    const payload = 'y'.repeat(2_000);
    let refused: { status: number; code: string } | undefined;
    await waitFor(async () => {
      const res = await fetch(`${server.url}/publish?topic=f`, { method: 'POST', body: payload });
      const body = (await res.json()) as { id?: string; code?: string };
      if (res.status === 202) answered.push(body.id!);
      else refused = { status: res.status, code: body.code! };
      return refused;
    }, 'a publish refused on the full disk', 30_000);
    expect(refused).toEqual({ status: 503, code: 'STORAGE_UNAVAILABLE' });
    expect(watcher.closed).toBe(false);
    rmSync(filler);
    const after = await waitFor(async () => {
      const res = await fetch(`${server.url}/publish?topic=f`, { method: 'POST', body: 'back' });
      return res.status === 202 && ((await res.json()) as { id: string }).id;
    }, 'publishing back once space returned', 30_000);
    const events = await watcher.waitForEvents(answered.length + 1, 30_000);
    expect(events.map((e) => e.id)).toEqual([...answered, after]);
    expect(server.output()).toMatch(/event log: write failed, publishes answer 503 until it works again: ENOSPC/);
    expect(server.output()).toMatch(/event log: writable again/);
  }, 90_000);
});
