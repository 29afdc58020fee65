// HTTP/1.1 pipelining on POST /publish: one connection, 100 requests written at once, 100 answers
// in order with consecutive ids, whatever SHARDS is (the ids are known in the thread that received
// the request, so no answer is pending when the next request is read).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeAnswers, rawExchange, statuses } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { openStream } from '../helpers/sse-client.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

describe('pipelined publishes', () => {
  it('100 publishes pipelined on one connection get 100 answers, in order, with consecutive ids, delivered in that order', async () => {
    const watcher = await openStream(`${server.url}/events?topic=pipe`);
    const requests = Array.from({ length: 100 }, (_, i) => {
      const body = `n=${i}`;
      return `POST /publish?topic=pipe HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    }).join('');
    const answer = await rawExchange(server.port, requests, { untilAnswers: 100, idleMs: 10_000 });
    expect(completeAnswers(answer.reply)).toBe(100);
    expect(statuses(answer.reply)).toEqual(Array.from({ length: 100 }, () => 202));
    const ids = [...answer.reply.matchAll(/\{"id":"([^"]+)"\}/g)].map((m) => m[1]!);
    const seqs = ids.map((id) => Number(id.split('-')[1]));
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => seqs[0]! + i));
    const events = await watcher.waitForEvents(100);
    expect(events.map((e) => [e.id, e.data])).toEqual(ids.map((id, i) => [id, `n=${i}`]));
    watcher.close();
  });
});
