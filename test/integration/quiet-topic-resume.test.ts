// Resumes older than a shard's in-memory window (HISTORY_MEMORY_SIZE) are replayed from the durable
// log's segment files: a quiet topic's events stay resumable while retention keeps them, however
// busy other topics are, before and after a restart (SIGTERM and kill -9), and a busy topic's long
// resume goes from disk to memory without a gap or a duplicate.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/free-port.js';
import { startServer, tempDataDir, waitFor, type TestServer } from '../helpers/server.js';
import { resumeUntil } from '../helpers/sse-client.js';

const servers: TestServer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  for (const c of cleanups.splice(0)) c();
});

async function start(env: Record<string, string>): Promise<TestServer> {
  const s = await startServer(env);
  servers.push(s);
  return s;
}

/** The events a stream on `topics` resumed from `from` gets, up to the one with id `until` (or a reset). */
async function resumed(server: TestServer, topics: string, from: string, until: string): Promise<{ id: string; event: string; data: string }[]> {
  const events = await resumeUntil(`${server.url}/events?${topics}`, from, until);
  return events.map((e) => ({ id: e.id!, event: e.event ?? 'message', data: e.data }));
}

describe('resumes older than the in-memory window, from the segment files', () => {
  it("a quiet topic's event behind 600 busy ones (memory holds 20) resumes with no reset, before and after SIGTERM and kill -9 restarts; a busy topic's long resume crosses from disk to memory in order", async () => {
    const dir = tempDataDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = { DATA_DIR: dir, PORT: String(await freePort()), HISTORY_SIZE: '100000', HISTORY_MEMORY_SIZE: '20', LOG_SEGMENT_BYTES: '4096', DURABILITY: 'fsync' };
    let server = await start(env);
    const before = await server.publish('busy', 'b-first');
    const quiet = await server.publish('quiet', 'q1');
    const busy: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await server.publishJson(Array.from({ length: 30 }, (_, j) => ({ topic: 'busy', data: `b${i * 30 + j}` })));
      busy.push(...((await res.json()) as { ids: string[] }).ids);
    }
    const last = await server.publish('quiet', 'q2');
    const expectQuiet = async (): Promise<void> => {
      expect(await resumed(server, 'topic=quiet', before, last)).toEqual([
        { id: quiet, event: 'message', data: 'q1' },
        { id: last, event: 'message', data: 'q2' },
      ]);
    };
    await expectQuiet();
    const all = await resumed(server, 'topic=busy&topic=quiet', before, last);
    expect(all.map((e) => e.id)).toEqual([quiet, ...busy, last]);

    for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
      await server.stop(signal);
      servers.splice(servers.indexOf(server), 1);
      server = await start(env);
      await expectQuiet();
    }
  }, 120_000);

  it('HISTORY_SIZE=20 (memory and retention by count): a quiet event 100 events back is still in the undeleted segment and resumes; once retention deletes its segment, a reset', async () => {
    const server = await start({ HISTORY_SIZE: '20' });
    const before = await server.publish('busy', 'b-first');
    const quiet = await server.publish('quiet', 'q1');
    await server.publishJson(Array.from({ length: 100 }, (_, j) => ({ topic: 'busy', data: `b${j}` })));
    const last = await server.publish('quiet', 'q2');
    expect(await resumed(server, 'topic=quiet', before, last)).toEqual([
      { id: quiet, event: 'message', data: 'q1' },
      { id: last, event: 'message', data: 'q2' },
    ]);

    const small = await start({ HISTORY_SIZE: '20', LOG_SEGMENT_BYTES: '4096' });
    const gone = await small.publish('quiet', 'old');
    for (let i = 0; i < 10; i++) await small.publishJson(Array.from({ length: 30 }, (_, j) => ({ topic: 'busy', data: `b${j}` })));
    const now = await small.publish('quiet', 'new');
    // Retention runs on a 1 s tick and at each new segment, and tells the shards at once (the next
    // test); publishing goes on meanwhile, as it would in production, until the reset shows.
    await waitFor(
      async () => {
        await small.publish('busy', 'tick');
        return (await resumed(small, 'topic=quiet', gone, now))[0]?.event === 'reset';
      },
      'a reset for an id retention deleted',
      30_000,
    );
  }, 60_000);

  it('a segment retention deletes after the last publish (HISTORY_MAX_AGE, on its 1 s tick) is forgotten by the shards at once: a resume from an id in it gets a reset with no batch after', async () => {
    const dir = tempDataDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // fsync: each publish is its own batch (answered after its sync), so `gone` shares its record with no busy event
    const server = await start({ DATA_DIR: dir, HISTORY_SIZE: '100000', HISTORY_MEMORY_SIZE: '5', HISTORY_MAX_AGE: '5s', LOG_SEGMENT_BYTES: '4096', DURABILITY: 'fsync' });
    const segments = (): string[] => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();
    const gone = await server.publish('quiet', 'old');
    const first = segments()[0]!;
    for (let i = 0; i < 10; i++) await server.publishJson(Array.from({ length: 30 }, (_, j) => ({ topic: 'busy', data: `b${j}` })));
    const now = await server.publish('quiet', 'new');
    expect(segments().length, 'the busy events filled several segments').toBeGreaterThan(2);
    expect(segments(), 'publishing took less than HISTORY_MAX_AGE: the first segment is still there').toContain(first);
    // nothing is published from here on: no batch can tell a shard what the tick deletes
    await waitFor(() => !existsSync(join(dir, first)), `retention deletes ${first}`, 30_000);
    const events = await resumed(server, 'topic=quiet', gone, now);
    expect(events.map((e) => e.event)).toEqual(['reset']);
  }, 60_000);
});
