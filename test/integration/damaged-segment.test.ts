// A segment damaged in the middle (bytes flipped, as a bad disk sector would): the server starts,
// logs the bytes it skipped, and resumes across the damage with a reset frame in place of what is
// lost, keeping every event before and after it; a resume into the damaged range gets the reset,
// then the rest; live publishing goes on.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, tempDataDir, type TestServer } from '../helpers/server.js';
import { resumeUntil } from '../helpers/sse-client.js';

const servers: TestServer[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop('SIGKILL')));
  for (const c of cleanups.splice(0)) c();
});

const seqOf = (id: string): number => Number(id.split('-')[1]);

describe('a segment damaged in the middle', () => {
  it('resumes from before the damage get every event before it, one reset frame for the lost ones, then every event after; a resume from inside it gets the reset first', async () => {
    const dir = tempDataDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const env = { DATA_DIR: dir, DURABILITY: 'fsync', HISTORY_MEMORY_SIZE: '1000' };
    const first = await startServer(env);
    servers.push(first);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push(await first.publish('p', `e${i}`)); // answered once synced: one record each
    await first.stop('SIGTERM');
    servers.splice(0);
    const segment = join(dir, readdirSync(dir).filter((n) => n.endsWith('.seg')).sort().at(-1)!);
    const bytes = readFileSync(segment);
    const middle = Math.floor(bytes.length / 2);
    for (let i = middle; i < middle + 8; i++) bytes[i]! ^= 0xff;
    writeFileSync(segment, bytes);

    const server = await startServer(env);
    servers.push(server);
    expect(server.output()).toMatch(/skipped damaged bytes \d+ to \d+ \(checksum or framing\)/);
    const fresh = await server.publish('p', 'after');

    const got = await resumeUntil(`${server.url}/events?topic=p`, ids[2]!, fresh, false);
    const resets = got.filter((e) => e.event === 'reset');
    expect(resets, JSON.stringify(got)).toHaveLength(1);
    const at = got.indexOf(resets[0]!);
    const before = got.slice(0, at).map((e) => e.id);
    const after = got.slice(at + 1).map((e) => e.id);
    expect(before).toEqual(ids.slice(3, 3 + before.length));
    expect(after.at(-1)).toBe(fresh);
    const lost = ids.slice(3 + before.length, ids.indexOf(after[0]!));
    expect(lost.length, `lost ${lost.join(' ')}`).toBeGreaterThanOrEqual(1);
    expect(lost.length).toBeLessThanOrEqual(3);
    expect(after).toEqual([...ids.slice(ids.indexOf(after[0]!)), fresh]);
    // the reset's id is the last lost one: a reconnect resumes right after it
    expect(seqOf(resets[0]!.id!)).toBe(seqOf(after[0]!) - 1);

    const inside = await resumeUntil(`${server.url}/events?topic=p`, lost[0]!, fresh, false);
    if (lost.length > 1) expect(inside[0]!.event).toBe('reset');
    expect(inside.filter((e) => e.event !== 'reset').map((e) => e.id)).toEqual(after);
    const past = await resumeUntil(`${server.url}/events?topic=p`, after[0]!, fresh, false);
    expect(past.map((e) => e.id)).toEqual(after.slice(1));
  }, 60_000);
});
