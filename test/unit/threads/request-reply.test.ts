// PendingRequests: a shard's question to the main thread travels under an id, and the answer that
// carries the id settles the promise that asked.
import { describe, expect, it } from 'vitest';
import { drainingError, HttpError } from '../../../src/intake/errors.js';
import { answeredIds, keyedAnswer, PendingRequests } from '../../../src/threads/request-reply.js';

/** Asks and captures the id the request was sent under. */
function ask<T>(p: PendingRequests): { id: number; answer: Promise<T> } {
  let id: number | undefined;
  const answer = p.ask<T>((reqId) => {
    id = reqId;
  });
  if (id === undefined) throw new Error('ask() did not send synchronously');
  return { id, answer };
}

describe('a keyed publish answered by the main thread', () => {
  it('a refusal reaches the shard with its Retry-After: a keyed publish refused while the log is handed over says when to retry', async () => {
    const answer = await keyedAnswer(() => {
      throw drainingError();
    });
    const thrown = (() => {
      try {
        answeredIds(structuredClone(answer)); // as postMessage carries it
      } catch (err) {
        return err;
      }
    })();
    expect(thrown).toBeInstanceOf(HttpError);
    expect((thrown as HttpError).code).toBe('DRAINING');
    expect((thrown as HttpError).retryAfterS).toBe(1);
  });
});

describe('PendingRequests', () => {
  it('sends each request at once under an id no other request has', () => {
    const p = new PendingRequests();
    const ids = Array.from({ length: 50 }, () => ask(p).id);
    expect(new Set(ids).size).toBe(50);
    expect(p.size).toBe(50);
  });

  it('resolve settles the promise that asked under that id, with that value, and no other', async () => {
    const p = new PendingRequests();
    const first = ask<string>(p);
    const second = ask<string>(p);
    const third = ask<string>(p);
    p.resolve(second.id, 'two');
    p.resolve(first.id, 'one');
    expect(await second.answer).toBe('two');
    expect(await first.answer).toBe('one');
    expect(p.size).toBe(1);
    let thirdSettled = false;
    void third.answer.then(() => (thirdSettled = true));
    await Promise.resolve();
    expect(thirdSettled).toBe(false);
  });

  it('ignores unknown ids and answers to ids already settled', async () => {
    const p = new PendingRequests();
    const one = ask<string>(p);
    p.resolve(one.id + 1000, 'stray');
    p.resolve(-1, 'stray');
    expect(p.size).toBe(1);
    p.resolve(one.id, 'first');
    p.resolve(one.id, 'second'); // a duplicate answer
    expect(await one.answer).toBe('first');
  });

  it('goes back to size 0 once every request is answered', async () => {
    const p = new PendingRequests();
    const asked = [ask<number>(p), ask<number>(p), ask<number>(p)];
    expect(p.size).toBe(3);
    p.resolve(asked[0]!.id, 0);
    p.resolve(asked[1]!.id, 1);
    p.resolve(asked[2]!.id, 2);
    expect(p.size).toBe(0);
    expect(await Promise.all(asked.map((a) => a.answer))).toEqual([0, 1, 2]);
  });
});
