// A reconnect storm at a small scale against the real server: 300 clients on three topics receive
// while a background loop publishes; every connection is closed from the client side at once, events
// are published while they are all away, and every client reconnects at once with the id of the last
// event it received as Last-Event-ID (what a browser's EventSource sends). When publishing stops,
// every client must have every event of its topic exactly once and in order over its two connections,
// and no reset frame: a gapless resume for every one of them, whichever shard it lands on.
import { describe, expect, it } from 'vitest';
import type { EventSourceMessage } from 'eventsource-parser';
import { startServer, TEST_SHARDS, waitFor } from '../helpers/server.js';
import { openStream, type RawStream } from '../helpers/sse-client.js';

const CLIENTS = 300;
const TOPICS = ['storm-a', 'storm-b', 'storm-c'];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe(`reconnect storm (SHARDS=${TEST_SHARDS})`, () => {
  it(`${CLIENTS} clients closed at once and back at once with Last-Event-ID: every event of their topic exactly once, in order, no reset`, async () => {
    const server = await startServer();
    const topicOf = (i: number): string => TOPICS[i % TOPICS.length]!;
    const url = (topic: string): string => `${server.url}/events?topic=${topic}`;
    // Publishing one event at a time: each topic's list is in publish order, which is id order.
    const published = new Map<string, Array<{ id: string; data: string }>>(TOPICS.map((t) => [t, []]));
    let total = 0;
    let stop = false;
    let loopError: unknown;
    let loop: Promise<void> | undefined;
    const first: RawStream[] = [];
    const second: RawStream[] = [];
    try {
      first.push(...(await Promise.all(Array.from({ length: CLIENTS }, (_, i) => openStream(url(topicOf(i)))))));
      expect(first.map((s) => s.status)).toEqual(first.map(() => 200));

      loop = (async () => {
        for (let i = 0; !stop; i++) {
          const topic = topicOf(i);
          const data = `${topic} #${i}`;
          published.get(topic)!.push({ id: await server.publish(topic, data), data });
          total++;
          await sleep(2);
        }
      })().catch((err: unknown) => {
        loopError = err;
      });

      // Steady state first: every client has events, so every one has an id to come back with.
      await waitFor(() => total >= 60 && first.every((s) => s.events.length >= 5), 'every client receiving', 8_000);

      // The storm: every connection closed from this side in one go, while publishing goes on.
      for (const s of first) s.close();
      await Promise.all(first.map((s) => s.ended));
      const whileAway = total;
      await waitFor(() => total >= whileAway + 2 * TOPICS.length, 'events published while every client is away', 5_000);

      // Each comes back with the id of the last event it received, all at once.
      const before = first.map((s) => s.events.slice());
      second.push(...(await Promise.all(first.map((_, i) => openStream(url(topicOf(i)), { 'last-event-id': before[i]!.at(-1)!.id! })))));
      expect(second.map((s) => s.status)).toEqual(second.map(() => 200));

      // Publishing goes on after the storm, then stops; every client gets everything.
      const back = total;
      await waitFor(() => total >= back + 60, 'publishing after the storm', 8_000);
      stop = true;
      await loop;
      expect(loopError).toBeUndefined();
      const received = (i: number): EventSourceMessage[] => [...before[i]!, ...second[i]!.events];
      await waitFor(() => first.every((_, i) => received(i).length >= published.get(topicOf(i))!.length), 'every client to catch up', 5_000).catch(() => undefined);

      const resets = first.flatMap((_, i) => received(i).filter((e) => e.event === 'reset'));
      expect(resets, 'reset frames').toEqual([]);
      const incomplete: string[] = [];
      for (let i = 0; i < CLIENTS; i++) {
        const want = published.get(topicOf(i))!;
        const got = received(i);
        const same = got.length === want.length && got.every((e, k) => e.id === want[k]!.id && e.data === want[k]!.data);
        if (!same) incomplete.push(`client ${i} (${topicOf(i)}): ${got.length} events for ${want.length} published`);
        // one client's full comparison, for a readable diff when a resume went wrong
        if (!same && incomplete.length === 1) expect(got.map((e) => `${e.id} ${e.data}`), `client ${i}`).toEqual(want.map((p) => `${p.id} ${p.data}`));
      }
      expect(incomplete).toEqual([]);
    } finally {
      stop = true;
      await loop;
      for (const s of [...first, ...second]) s.close();
      await server.stop();
    }
  }, 20_000);
});
