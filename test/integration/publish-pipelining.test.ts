// HTTP/1.1 pipelining on POST /publish: one connection, 100 requests written at once, 100 answers
// in order with consecutive ids, whatever SHARDS is (the ids are known in the thread that received
// the request, so no answer is pending when the next request is read). The same with a publisher
// JWT, from JWT_SECRET or a JWKS; and a publish whose client left while its token was still being
// checked (a new kid: the JWKS is fetched again) publishes nothing.
import { connect, type Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJwksServer, type JwksServer } from '../helpers/jwks-server.js';
import { completeAnswers, rawExchange, statuses } from '../helpers/raw-http.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
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

/** `n` publishes to `topic` written at once on one connection, each with `authorization`. */
function pipelined(n: number, topic: string, authorization: string): string {
  return Array.from({ length: n }, (_, i) => {
    const body = `n=${i}`;
    return `POST /publish?topic=${topic} HTTP/1.1\r\nHost: x\r\nAuthorization: ${authorization}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  }).join('');
}

/** Three pipelined publishes: three 202s in order, consecutive ids, three events in that order. */
async function expectThreePipelined(s: TestServer, topic: string, publisher: string, subscriber: string): Promise<void> {
  const watcher = await openStream(`${s.url}/events?topic=${topic}`, { authorization: `Bearer ${subscriber}` });
  try {
    expect(watcher.status).toBe(200);
    const answer = await rawExchange(s.port, pipelined(3, topic, `Bearer ${publisher}`), { untilAnswers: 3, idleMs: 10_000 });
    expect(statuses(answer.reply), answer.reply).toEqual([202, 202, 202]);
    const ids = [...answer.reply.matchAll(/\{"id":"([^"]+)"\}/g)].map((m) => m[1]!);
    const seqs = ids.map((id) => Number(id.split('-')[1]));
    expect(seqs).toEqual([seqs[0], seqs[0]! + 1, seqs[0]! + 2]);
    const events = await watcher.waitForEvents(3);
    expect(events.map((e) => [e.id, e.data])).toEqual(ids.map((id, i) => [id, `n=${i}`]));
  } finally {
    watcher.close();
  }
}

// A publisher JWT is decided in the callback that read the body, like PUBLISH_TOKEN: uWS closes a
// connection whose next request arrives while an answer is pending, so an answer that waited for
// the token check lost every publish behind it (and its own answer), while the first was published.
describe('pipelined publishes with a publisher JWT (JWT_SECRET)', () => {
  const SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
  const key = new TextEncoder().encode(SECRET);
  let jwtServer: TestServer;
  beforeAll(async () => {
    jwtServer = await startServer({ JWT_SECRET: SECRET });
  });
  afterAll(async () => {
    await jwtServer?.stop();
  });

  it('three pipelined publishes get three 202s, in order, and three events', async () => {
    const publisher = await new SignJWT({ publish: ['jwt.*'] }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const subscriber = await new SignJWT({ topics: ['jwt.*'] }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    await expectThreePipelined(jwtServer, 'jwt.pipe', publisher, subscriber);
  });

  it('a refused token is answered in order too: 403, then the next request is read and answered', async () => {
    const narrow = await new SignJWT({ publish: ['jwt.only'] }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    const requests = pipelined(1, 'jwt.other', `Bearer ${narrow}`) + pipelined(1, 'jwt.only', `Bearer ${narrow}`);
    const answer = await rawExchange(jwtServer.port, requests, { untilAnswers: 2, idleMs: 10_000 });
    expect(statuses(answer.reply), answer.reply).toEqual([403, 202]);
  });
});

describe('publisher JWTs from a JWKS', () => {
  let jwksServer: TestServer;
  let jwks: JwksServer;
  let k1: { publicKey: CryptoKey; privateKey: CryptoKey };
  let k2: { publicKey: CryptoKey; privateKey: CryptoKey };
  const jwkOf = async (k: CryptoKey, kid: string): Promise<object> => ({ ...(await exportJWK(k)), kid, use: 'sig' });
  const signed = (claims: Record<string, unknown>, kid: string, k: CryptoKey): Promise<string> =>
    new SignJWT(claims).setProtectedHeader({ alg: 'EdDSA', kid }).sign(k);
  /** one publish on its own connection; the socket, to destroy */
  const sendPublish = (topic: string, token: string, body: string): Socket => {
    const socket = connect(jwksServer.port, '127.0.0.1', () => socket.write(`POST /publish?topic=${topic} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`));
    socket.on('error', () => undefined);
    return socket;
  };

  beforeAll(async () => {
    k1 = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    k2 = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    jwks = await startJwksServer([await jwkOf(k1.publicKey, 'k1')]);
    jwksServer = await startServer({ JWKS_URL: jwks.url });
  });
  afterAll(async () => {
    await jwksServer?.stop();
    await jwks?.close();
  });

  it('three pipelined publishes with a token the JWKS has get three 202s, in order, and three events', async () => {
    const publisher = await signed({ publish: ['jwks.*'] }, 'k1', k1.privateKey);
    const subscriber = await signed({ topics: ['jwks.*'] }, 'k1', k1.privateKey);
    await expectThreePipelined(jwksServer, 'jwks.pipe', publisher, subscriber);
  });

  it('a publish whose client goes away while its new kid is fetched publishes nothing', async () => {
    const watcher = await openStream(`${jwksServer.url}/events?topic=jwks.gone`, { authorization: `Bearer ${await signed({ topics: ['*'] }, 'k1', k1.privateKey)}` });
    try {
      expect(watcher.status).toBe(200);
      const published = await jwksServer.metric('sse_events_published_total');
      const token = await signed({ publish: ['*'] }, 'k2', k2.privateKey);
      jwks.setKeys([await jwkOf(k1.publicKey, 'k1'), await jwkOf(k2.publicKey, 'k2')]);
      const release = jwks.hold();
      const asked = jwks.requests;
      const gone = sendPublish('jwks.gone', token, 'aborted');
      await waitFor(() => jwks.requests > asked, 'the token check to fetch the JWKS again (kid k2)');
      gone.destroy();
      // Behind it, with the same kid: it waits for the same fetch, so its check ends after the first's.
      const marker = fetch(`${jwksServer.url}/publish?topic=jwks.gone`, { method: 'POST', body: 'marker', headers: { authorization: `Bearer ${token}` } });
      release();
      expect((await marker).status).toBe(202);
      const events = await watcher.waitForEvents(1);
      expect(events.map((e) => e.data)).toEqual(['marker']);
      expect(await jwksServer.metric('sse_events_published_total')).toBe(published + 1);
    } finally {
      watcher.close();
    }
  });
});
