// Deploys nobody notices: a second server started on the same DATA_DIR and PORT takes the log over
// from the running one (docs/deploy.md). 200 reconnecting subscribers and a steady publisher that
// sends Idempotency-Keys and retries 503s and failed connections with the same key see one history:
// every publish answered, every answered event exactly once, in order, no reset frame. The refused
// window and both servers' timed steps are printed (figures, not assertions).
import { afterAll, describe, expect, it } from 'vitest';
import { startServer, tempDataDir, waitFor, type TestServer } from '../helpers/server.js';
import { freePort } from '../support/free-port.js';
import { deliveryProblems, refusedWindowMs, steadyPublisher, subscribe, type PublishOutcome, type Subscriber } from '../support/rolling-load.js';
import { rmSync } from 'node:fs';
import { once } from 'node:events';

const SUBSCRIBERS = 200;
const dirs: string[] = [];
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function healthz(server: TestServer): Promise<{ phase: string; epoch: string; lastSeq: number }> {
  return (await (await fetch(`${server.url}/healthz`)).json()) as { phase: string; epoch: string; lastSeq: number };
}

/** Both processes' timed handover steps, in time order, ms from the first. */
function timeline(oldOut: string, newOut: string, load: PublishOutcome): string {
  const steps = (out: string, who: string) => [...out.matchAll(/^handover (\d+\.\d): (.*)$/gm)].map((m) => ({ at: Number(m[1]), line: `${who}: ${m[2]}` }));
  const wall = (t: number): number => performance.timeOrigin + t;
  const refused = load.refused.flatMap((r) => [
    { at: wall(r.sentAt), line: 'publisher: sent (refused)' },
    { at: wall(r.at), line: 'publisher: 503' },
  ]);
  const last = load.refused.at(-1)?.at;
  const accepted = last === undefined ? [] : load.acceptedAt.filter((t) => t > last).slice(0, 1).map((t) => ({ at: wall(t), line: 'publisher: first 202 after the 503s' }));
  const all = [...steps(oldOut, 'old'), ...steps(newOut, 'new'), ...refused, ...accepted].sort((a, b) => a.at - b.at);
  return all.map((s) => `  +${(s.at - all[0]!.at).toFixed(1).padStart(7)} ms  ${s.line}`).join('\n');
}

describe('handover to a new server on the same DATA_DIR and PORT', () => {
  it('keeps one history through the handover: every answered event reaches every subscriber once, in order, with no reset; the old server exits 0', async () => {
    const dir = tempDataDir();
    dirs.push(dir);
    const port = await freePort();
    const env = { DATA_DIR: dir, PORT: String(port), RETRY_MS: '100', DRAIN_MS: '1000' };
    const old = await startServer(env);
    servers.push(old);
    const subscribers: Subscriber[] = subscribe(`${old.url}/events?topic=deploy`, SUBSCRIBERS);
    await waitFor(() => subscribers.every((s) => s.opens > 0), 'every subscriber connected', 30_000);
    const publisher = steadyPublisher(port, 'deploy', 5);
    await waitFor(async () => (await healthz(old)).lastSeq >= 50, 'publishing under way', 30_000);

    const oldExit = once(old.proc, 'exit') as Promise<[number | null]>;
    const fresh = await startServer(env);
    servers.push(fresh);
    const [oldCode] = await oldExit;
    expect(oldCode, old.output()).toBe(0);
    expect(old.output()).toMatch(/handover: pid \d+ serves; this server stops listening and drains/);
    const before = await healthz(fresh);
    await waitFor(async () => (await healthz(fresh)).lastSeq >= before.lastSeq + 50, 'publishing to the new server', 30_000);
    const out = await publisher.stop();
    const lastId = [...out.answered.values()].at(-1)!;
    await waitFor(() => subscribers.every((s) => s.ids.includes(lastId)), 'every subscriber caught up', 60_000);
    for (const s of subscribers) s.es.close();

    const epoch = [...out.answered.values()][0]!.split('-')[0];
    expect(before.phase).toBe('serving');
    expect(before.epoch, 'the same history goes on').toBe(epoch);
    expect(fresh.output()).toMatch(/handover: took the log from pid \d+ at epoch/);
    const problems = subscribers.map((s) => ({ ...deliveryProblems(s, out.answered), resets: s.resets }));
    expect(problems.filter((p) => p.missing + p.wrongId + p.duplicates + p.outOfOrder + p.unexpected + p.resets > 0)).toEqual([]);
    expect(out.refused.every((r) => r.retryAfter !== undefined), 'every 503 says when to retry').toBe(true);
    expect(out.unknown, 'every publish answered (a failed connection is retried with its key)').toEqual([]);
    const ids = [...out.answered.values()].map((id) => Number(id.split('-')[1]));
    expect(ids.every((seq, i) => i === 0 || seq > ids[i - 1]!), 'numbers go on from where the old server stopped').toBe(true);
    console.log(
      `handover (SHARDS=${process.env['TEST_SHARDS'] ?? '0'}): ${out.answered.size} events answered, ${out.refused.length} refused (503) publishes, ` +
        `refused window ${refusedWindowMs(out).toFixed(1)} ms, ${out.connectionErrors} failed connections retried with their key, ${SUBSCRIBERS} subscribers all complete`,
    );
    console.log(`steps:\n${timeline(old.output(), fresh.output(), out)}`);
  }, 180_000);
});
