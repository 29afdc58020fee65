// Presence: GET /topics/{topic} and GET /topics count every stream on every shard
// exactly (TEST_SHARDS=0, 1 and 4), come back to 0 under connect/disconnect churn, and `$presence`
// announces changes at most once per topic per PRESENCE_INTERVAL_MS, as ordinary sequenced events.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, TEST_SHARDS, waitFor, type TestServer } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

interface TopicInfo {
  topic: string;
  subscribers: number;
  lastId: string | null;
  events: string[];
}
interface Page {
  topics: Array<{ topic: string; subscribers: number }>;
  next: string | null;
}

let server: TestServer;
const streams: RawStream[] = [];
const open = async (s: TestServer, query: string, headers: Record<string, string> = {}): Promise<RawStream> => {
  const st = await openStream(`${s.url}/events?${query}`, headers);
  streams.push(st);
  return st;
};
const info = async (s: TestServer, topic: string, headers: Record<string, string> = {}): Promise<TopicInfo> =>
  (await (await fetch(`${s.url}/topics/${encodeURIComponent(topic).replace(/%2F/g, '/')}`, { headers })).json()) as TopicInfo;
const subscribers = async (s: TestServer, topic: string): Promise<number> => (await info(s, topic)).subscribers;
const list = async (s: TestServer, query: string): Promise<Page> => (await (await fetch(`${s.url}/topics?${query}`)).json()) as Page;
/** Waits until every topic has its expected count. */
const counts = (s: TestServer, expected: Record<string, number>, timeoutMs = 5_000): Promise<unknown> =>
  waitFor(
    async () => {
      for (const [t, n] of Object.entries(expected)) if ((await subscribers(s, t)) !== n) return false;
      return true;
    },
    `counts ${JSON.stringify(expected)}`,
    timeoutMs,
  );

beforeAll(async () => {
  server = await startServer({ PRESENCE_INTERVAL_MS: '1000' });
});
afterEach(() => {
  streams.splice(0).forEach((s) => s.close());
});
afterAll(async () => {
  await server?.stop();
});

describe('presence counts', () => {
  it('counts every stream on every shard exactly, and back to 0 when they close', async () => {
    for (let i = 0; i < 5; i++) await open(server, 'topic=pa');
    for (let i = 0; i < 3; i++) await open(server, 'topic=pb');
    for (let i = 0; i < 2; i++) await open(server, 'topic=pa&topic=pb');
    await open(server, 'topics=pc/deep,pa');
    await counts(server, { pa: 8, pb: 5, 'pc/deep': 1 });
    expect(await info(server, 'pc/deep')).toEqual({ topic: 'pc/deep', subscribers: 1, lastId: null, events: [] });
    streams.splice(0).forEach((s) => s.close());
    await counts(server, { pa: 0, pb: 0, 'pc/deep': 0 });
    expect((await list(server, 'prefix=p')).topics.filter((t) => /^p[abc]/.test(t.topic))).toEqual([]);
  });

  it('lastId is the newest id on the topic in the history, events the names it carried', async () => {
    expect((await info(server, 'last')).lastId).toBeNull();
    await server.publish('last', 'one');
    await server.publish('other-topic', 'not this one');
    const id = await server.publish('last', 'two', { event: 'named' });
    await server.publish('other-topic', 'nor this one');
    await waitFor(async () => (await info(server, 'last')).lastId === id, 'lastId');
    expect((await info(server, 'last')).events.sort()).toEqual(['message', 'named']);
  });

  it('1,000 connect/disconnect cycles leave every count at 0', async () => {
    const topics = ['churn-a', 'churn-b', 'churn-c'];
    let cycle = 0;
    const worker = async (): Promise<void> => {
      while (cycle < 1_000) {
        const i = cycle++;
        const s = await openStream(`${server.url}/events?topic=${topics[i % 3]}${i % 5 === 0 ? '&topic=churn-both' : ''}`);
        s.close();
      }
    };
    await Promise.all(Array.from({ length: 40 }, worker));
    await counts(server, { 'churn-a': 0, 'churn-b': 0, 'churn-c': 0, 'churn-both': 0 });
    // and it still counts after the churn
    await open(server, 'topic=churn-a');
    await counts(server, { 'churn-a': 1 });
  }, 60_000);

  it('lists topics with subscribers by name, paginated: prefix, limit, cursor, next null at the end', async () => {
    for (const t of ['pg/c', 'pg/a', 'pg/b', 'pg/b', 'pgx', 'zz-other']) await open(server, `topic=${t}`);
    await counts(server, { 'pg/a': 1, 'pg/b': 2, 'pg/c': 1, pgx: 1 });
    const first = await list(server, 'prefix=pg/&limit=2');
    expect(first).toEqual({ topics: [{ topic: 'pg/a', subscribers: 1 }, { topic: 'pg/b', subscribers: 2 }], next: 'pg/b' });
    const second = await list(server, `prefix=pg/&limit=2&cursor=${first.next}`);
    expect(second).toEqual({ topics: [{ topic: 'pg/c', subscribers: 1 }], next: null });
    expect((await list(server, 'prefix=pg')).topics.map((t) => t.topic)).toEqual(['pg/a', 'pg/b', 'pg/c', 'pgx']);
    for (const bad of ['limit=1001', 'limit=0', 'limit=abc', 'limit=-1', `prefix=${'x'.repeat(129)}`]) {
      const res = await fetch(`${server.url}/topics?${bad}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('BAD_PAGINATION');
    }
    expect((await fetch(`${server.url}/topics?limit=1000`)).status).toBe(200);
  });

  it('answers HEAD like GET without a body, refuses bad topics and other methods', async () => {
    const head = await fetch(`${server.url}/topics/some-topic`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json');
    expect(await head.text()).toBe('');
    expect((await fetch(`${server.url}/topics/bad%20topic`)).status).toBe(400);
    expect((await fetch(`${server.url}/topics/${'x'.repeat(129)}`)).status).toBe(400);
    expect((await fetch(`${server.url}/topics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('a replaced shard', () => {
  const SHARDS = String(Math.max(2, Number(TEST_SHARDS)));
  let crashy: TestServer;
  beforeAll(async () => {
    crashy = await startServer({ SHARDS, DEBUG_FAULTS: '1' });
  });
  afterAll(async () => {
    await crashy?.stop();
  });

  it(`takes its counts with it (SHARDS=${SHARDS})`, async () => {
    const mine: RawStream[] = [];
    for (let i = 0; i < 8; i++) mine.push(await open(crashy, 'topic=replaced'));
    await counts(crashy, { replaced: 8 });
    const before = (crashy.output().match(/starting a replacement/g) ?? []).length;
    expect((await fetch(`${crashy.url}/_debug/crash-shard`, { method: 'POST' })).status).toBe(202);
    await waitFor(() => (crashy.output().match(/starting a replacement/g) ?? []).length > before, 'a replacement shard');
    await waitFor(() => mine.some((s) => s.closed), 'the failed shard to drop its streams');
    const alive = (): number => mine.filter((s) => !s.closed).length;
    expect(alive()).toBeLessThan(8);
    // the raw client does not reconnect: what remains is exactly the streams of the other shards
    await waitFor(async () => (await subscribers(crashy, 'replaced')) === alive(), 'the count of the streams left');
    mine.forEach((s) => s.close());
    await counts(crashy, { replaced: 0 });
  });
});

describe('$presence', () => {
  const presenceOf = (s: RawStream, topic: string): Array<{ id: string | undefined; subscribers: number }> =>
    s.events
      .filter((e) => e.event === 'presence' && (JSON.parse(e.data) as { topic: string }).topic === topic)
      .map((e) => ({ id: e.id, subscribers: (JSON.parse(e.data) as { subscribers: number }).subscribers }));

  it('nobody may publish to it', async () => {
    const raw = await fetch(`${server.url}/publish?topic=${encodeURIComponent('$presence')}`, { method: 'POST', body: 'x' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { code: string }).code).toBe('RESERVED_TOPIC');
    const json = await server.publishJson([{ topic: 'fine', data: 'x' }, { topic: '$presence', data: 'x' }]);
    expect(json.status).toBe(400);
    expect(((await json.json()) as { code: string }).code).toBe('RESERVED_TOPIC');
    expect((await fetch(`${server.url}/events?topic=$other`)).status).toBe(400); // only the one reserved name
  });

  it('announces a change as an ordinary event: named presence, with an id, resumable', async () => {
    const watcher = await open(server, 'topic=$presence');
    // Counts from different shards reach the main thread in no set order: the change below is only
    // announced if the watcher was counted first.
    await waitFor(async () => (await subscribers(server, '$presence')) >= 1, 'the watcher to be counted');
    await open(server, 'topic=announced');
    await waitFor(() => presenceOf(watcher, 'announced').length === 1, 'the announcement');
    const [first] = presenceOf(watcher, 'announced');
    expect(first!.subscribers).toBe(1);
    expect(first!.id).toMatch(/^[A-Za-z0-9._~:-]+$/);
    streams.splice(1).forEach((s) => s.close());
    await waitFor(() => presenceOf(watcher, 'announced').length === 2, 'the second announcement', 5_000);
    expect(presenceOf(watcher, 'announced')[1]!.subscribers).toBe(0);
    // in history: resuming after the first replays the second
    const resumed = await open(server, 'topic=$presence', { 'last-event-id': first!.id! });
    await waitFor(() => presenceOf(resumed, 'announced').length === 1, 'the replay');
    expect(presenceOf(resumed, 'announced')[0]).toEqual(presenceOf(watcher, 'announced')[1]);
    expect((await info(server, '$presence')).lastId).not.toBeNull();
  });

  it('200 connects and disconnects on one topic within a second yield at most 3 announcements, the last one exact', async () => {
    const watcher = await open(server, 'topic=$presence');
    const started = Date.now();
    let cycle = 0;
    const worker = async (): Promise<void> => {
      while (cycle < 200) {
        cycle++;
        (await openStream(`${server.url}/events?topic=storm`)).close();
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    const churnMs = Date.now() - started;
    await counts(server, { storm: 0 });
    await new Promise((r) => setTimeout(r, 2_200)); // the trailing announcement of the last interval
    const seen = presenceOf(watcher, 'storm');
    // one at the start, then at most one per PRESENCE_INTERVAL_MS (1 s) of churn, plus the trailing one
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(2 + Math.ceil(churnMs / 1_000));
    if (churnMs <= 1_000) expect(seen.length).toBeLessThanOrEqual(3);
    expect(seen[seen.length - 1]!.subscribers).toBe(0);
  }, 30_000);
});

describe('auth on the presence endpoints', () => {
  const PUBLISH_TOKEN = 'publisher-token-for-presence';
  const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
  let guarded: TestServer;
  beforeAll(async () => {
    guarded = await startServer({ PUBLISH_TOKEN, JWT_SECRET });
  });
  afterAll(async () => {
    await guarded?.stop();
  });

  // who may subscribe to $presence, in every auth mode: presence-access.test.ts
  it('GET /topics and /topics/{topic} need the publisher token (401 without, or with a wrong one)', async () => {
    for (const path of ['/topics', '/topics/t', '/topics?limit=5']) {
      const none = await fetch(`${guarded.url}${path}`);
      expect(none.status, path).toBe(401);
      // names every credential that would do, as POST /publish's 401 does
      expect(await none.json()).toMatchObject({ code: 'UNAUTHORIZED', error: 'GET /topics needs Authorization: Bearer <PUBLISH_TOKEN> or Bearer <publisher JWT>' });
      expect((await fetch(`${guarded.url}${path}`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${guarded.url}${path}`, { headers: { authorization: `Bearer ${PUBLISH_TOKEN}` } })).status, path).toBe(200);
    }
  });
});
