// The browser client (/client.js, src/client/) in real browsers (Chromium and Firefox ESR) against the
// real server with subscriber tokens: it renews its token before exp with no gap and no duplicate,
// hands reset frames to their own callback, and stops for good on 401 and 403.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BROWSERS, launchBrowser, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

const JWT_SECRET = 'jwt-secret-for-tests-0123456789-abcdefghijklmnop';
const PUBLISH_TOKEN = 'publish-token-for-tests-0123456789';
/** a token's life: the client renews it a second before exp (renewMarginMs) */
const TOKEN_LIFE_S = 3;
const WAIT_MS = 20_000;

interface Recorded {
  events: { name: string; id: string; data: string }[];
  resets: { reason: string; id: string }[];
  states: string[];
  errors: { message: string; status: number | undefined; code: string | undefined }[];
  tokenCalls: number;
}

declare global {
  interface Window {
    rec: Record<string, Recorded>;
  }
}

interface Setup {
  /** the name this subscription's record is kept under in window.rec */
  as: string;
  topics: string[];
  /** getToken fetches a fresh token here, unless `token` is given */
  tokenUrl: string;
  token?: string;
  lastEventId?: string;
}

/** A token endpoint, as an application serves one: each GET signs a fresh short-lived token. */
async function startTokenServer(): Promise<{ url: string; issued: () => number; close: () => Promise<void> }> {
  let issued = 0;
  const server: Server = createServer((_req, res) => {
    issued++;
    void new SignJWT({ topics: ['cl.*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) + TOKEN_LIFE_S)
      .sign(new TextEncoder().encode(JWT_SECRET))
      .then((jwt) => res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' }).end(jwt));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    issued: () => issued,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe.each(BROWSERS)('the browser client in %s', (browserName) => {
  let server: TestServer;
  let tokens: Awaited<ReturnType<typeof startTokenServer>>;
  let browser: TestBrowser | undefined;
  let tab: TestPage;

  beforeAll(async () => {
    server = await startServer({ JWT_SECRET, PUBLISH_TOKEN, RETRY_MS: '300' });
    tokens = await startTokenServer();
  });
  afterEach(async () => {
    await browser?.close(); // one browser process per test
    browser = undefined;
  });
  afterAll(async () => {
    await tokens?.close();
    await server?.stop();
  });

  const publish = (topic: string, data: string, event?: string): Promise<string> =>
    server.publish(topic, data, { event, headers: { authorization: `Bearer ${PUBLISH_TOKEN}` } });

  async function openTab(): Promise<void> {
    browser = await launchBrowser(browserName);
    tab = await browser.open(`${server.url}/metrics`); // any page of the server's origin
  }

  /** subscribe() in the tab, recording everything into window.rec[as] */
  async function subscribeInTab(setup: Setup): Promise<void> {
    await tab.evaluate(async (s) => {
      // built at run time: the test runner rewrites a literal import() in this file
      const { subscribe } = (await new Function('u', 'return import(u)')('/client.js')) as typeof import('../../src/client/index.js');
      const rec: Recorded = { events: [], resets: [], states: [], errors: [], tokenCalls: 0 };
      (window.rec ??= {})[s.as] = rec;
      subscribe({
        topics: s.topics,
        lastEventId: s.lastEventId,
        getToken: async () => {
          rec.tokenCalls++;
          return s.token ?? (await (await fetch(s.tokenUrl)).text());
        },
        onEvent: (e) => rec.events.push({ name: e.name, id: e.id, data: e.data }),
        onReset: (reason, id) => rec.resets.push({ reason, id }),
        onState: (state) => rec.states.push(state),
        onError: (err) => rec.errors.push({ message: err.message, status: err.status, code: err.code }),
      });
    }, setup);
  }

  const rec = (as: string): Promise<Recorded> => tab.evaluate((a) => window.rec[a]!, as);
  const waitRec = (as: string, check: (r: Recorded) => unknown, what: string): Promise<Recorded> =>
    waitFor(async () => {
      const r = await rec(as);
      return check(r) ? r : undefined;
    }, what, WAIT_MS);

  it('renews its token before exp: events published without pause across several token lifetimes arrive once each, in order', async () => {
    await openTab();
    await subscribeInTab({ as: 'renew', topics: ['cl.renew'], tokenUrl: tokens.url });
    await waitRec('renew', (r) => r.states.includes('open'), 'the stream to open');
    const issuedBefore = tokens.issued();
    const ids: string[] = [];
    // two renewals at least, so events are published while the client swaps streams
    while (tokens.issued() < issuedBefore + 2) {
      expect(ids.length, 'no renewal within 20,000 publishes').toBeLessThan(20_000);
      ids.push(await publish('cl.renew', `n${ids.length}`));
    }
    ids.push(await publish('cl.renew', 'last'));
    const r = await waitRec('renew', (x) => x.events.some((e) => e.data === 'last'), 'the last event');
    expect(r.events.map((e) => e.id)).toEqual(ids);
    expect(r.errors).toEqual([]);
    expect(r.resets).toEqual([]);
    console.log(`${browserName}: ${ids.length} events across ${tokens.issued() - issuedBefore} renewals; streams the server ended at exp: ${await server.metric('sse_token_expired_closes_total')}`);
  });

  it('hands a reset frame to onReset with its reason, not to onEvent, and goes on live', async () => {
    await openTab();
    await subscribeInTab({ as: 'reset', topics: ['cl.reset'], tokenUrl: tokens.url, lastEventId: 'not-an-id-of-this-server' });
    const r = await waitRec('reset', (x) => x.resets.length > 0, 'the reset frame');
    expect(r.resets).toHaveLength(1);
    expect(['history', 'epoch']).toContain(r.resets[0]!.reason);
    const id = await publish('cl.reset', 'after the reset', 'tick');
    const after = await waitRec('reset', (x) => x.events.length > 0, 'the event after the reset');
    expect(after.events).toEqual([{ name: 'tick', id, data: 'after the reset' }]);
  });

  it('stops for good on 401 and 403: onError with the status and the code, state closed, no second attempt', async () => {
    await openTab();
    await subscribeInTab({ as: 'unauthorized', topics: ['cl.x'], tokenUrl: tokens.url, token: 'not-a-jwt' });
    await subscribeInTab({ as: 'forbidden', topics: ['other.topic'], tokenUrl: tokens.url });
    const u = await waitRec('unauthorized', (x) => x.errors.length > 0, 'the 401');
    const f = await waitRec('forbidden', (x) => x.errors.length > 0, 'the 403');
    expect(u.errors).toMatchObject([{ status: 401, code: 'UNAUTHORIZED' }]);
    expect(f.errors).toMatchObject([{ status: 403, code: 'FORBIDDEN' }]);
    // A later stream opens and delivers (more than RETRY_MS later): by then a retry loop would have
    // called getToken again.
    await subscribeInTab({ as: 'later', topics: ['cl.later'], tokenUrl: tokens.url });
    await waitRec('later', (x) => x.states.includes('open'), 'a later stream to open');
    await publish('cl.later', 'x');
    await waitRec('later', (x) => x.events.length === 1, 'the later event');
    for (const name of ['unauthorized', 'forbidden']) {
      const r = await rec(name);
      expect(r.tokenCalls, name).toBe(1);
      expect(r.errors, name).toHaveLength(1);
      expect(r.states.at(-1), name).toBe('closed');
    }
  });
});
