// Twelve tabs of one origin in one real browser (Chromium and Firefox ESR, see ../helpers/browsers.ts):
// a browser gives one origin at most six HTTP/1.1 connections, so twelve tabs with an EventSource
// each leave six with nothing. With the browser client (the live console at / uses it) all twelve
// share one stream held by one tab, and another tab takes it over when that one closes; behind the
// HTTP/2 front (deploy/nginx.conf, TLS) every tab's EventSource rides one connection.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BROWSERS, launchBrowser, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';
import { startNginx, type TestNginx } from '../support/nginx.js';

const TABS = 12;
/** opening twelve tabs on two busy cores takes a while */
const TEST_MS = 180_000;
const WAIT_MS = 30_000;

declare global {
  interface Window {
    got: string[];
    opened: boolean;
  }
}

describe.each(BROWSERS)('twelve tabs of one origin in %s', (browserName) => {
  let server: TestServer;
  let nginx: TestNginx;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    server = await startServer({ RETRY_MS: '300' });
    nginx = await startNginx(server.port);
  });
  afterEach(async () => {
    await browser?.close(); // one browser process per test
    browser = undefined;
    await waitFor(async () => (await server.metric('sse_connections')) === 0, 'the closed browser to leave no stream', WAIT_MS);
  });
  afterAll(async () => {
    await nginx?.stop();
    await server?.stop();
  });

  async function openTabs(url: string): Promise<TestPage[]> {
    browser = await launchBrowser(browserName, { acceptInsecureCerts: true });
    const tabs: TestPage[] = [];
    for (let i = 0; i < TABS; i++) tabs.push(await browser.open(url)); // each waits for its page to load
    return tabs;
  }

  const streams = (): Promise<number> => server.metric('sse_connections');

  /** the ids of the event rows a console tab shows, in order */
  const shownIds = (tab: TestPage): Promise<string[]> =>
    tab.evaluate(() => Array.from(document.querySelectorAll('#events li:not(.reset) .id')).map((el) => el.textContent ?? ''));

  async function waitShown(tabs: TestPage[], n: number): Promise<void> {
    for (const tab of tabs) await tab.waitUntil((count) => document.querySelectorAll('#events li:not(.reset)').length >= count, n);
  }

  async function publishAll(topic: string, tag: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await server.publish(topic, `${tag} ${i}`));
    return ids;
  }

  const role = (tab: TestPage): Promise<string | undefined> => tab.evaluate(() => document.getElementById('state')!.dataset['role']);

  it(
    'with the client (the console): one stream for all twelve, every event in every tab in order; when the tab holding it closes another takes over, nothing missing or repeated',
    async () => {
      const topic = `tabs-${browserName}`;
      const tabs = await openTabs(`${server.url}/?topic=${topic}`);
      for (const tab of tabs) await tab.waitFor(`#state[data-state="open"][data-topic="${topic}"]`);
      await waitFor(async () => (await streams()) === 1, 'one stream on the server for twelve tabs', WAIT_MS);

      const first = await publishAll(topic, 'before', 5);
      await waitShown(tabs, first.length);
      for (const tab of tabs) expect(await shownIds(tab)).toEqual(first);

      const roles = await Promise.all(tabs.map(role));
      expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
      const leader = tabs[roles.indexOf('leader')]!;
      const rest = tabs.filter((t) => t !== leader);

      // Closed: events published now have no reader until another tab holds the stream.
      const closedAt = performance.now();
      await leader.close();
      const during = await publishAll(topic, 'during', 5);
      const next = await waitFor(
        async () => {
          for (const tab of rest) {
            if (await tab.evaluate(() => document.getElementById('state')!.dataset['role'] === 'leader' && document.getElementById('state')!.dataset['state'] === 'open')) return tab;
          }
          return undefined;
        },
        'another tab to hold the stream',
        WAIT_MS,
      );
      const takeoverMs = performance.now() - closedAt;
      console.log(`${browserName}: another tab held the stream ${takeoverMs.toFixed(0)} ms after the leader tab was closed`);
      expect((await Promise.all(rest.map(role))).filter((r) => r === 'leader')).toHaveLength(1);

      const after = await publishAll(topic, 'after', 5);
      const all = [...first, ...during, ...after];
      await waitShown(rest, all.length);
      for (const tab of rest) expect(await shownIds(tab), `tab ${tabs.indexOf(tab)}${tab === next ? ' (the new leader)' : ''}`).toEqual(all);
      await waitFor(async () => (await streams()) === 1, 'one stream again', WAIT_MS);
    },
    TEST_MS,
  );

  /** In each tab, a bare EventSource on `topic` that records its events' data in window.got. */
  async function eventSources(tabs: TestPage[], topic: string): Promise<void> {
    for (const tab of tabs) {
      await tab.evaluate((t) => {
        window.got = [];
        window.opened = false;
        const es = new EventSource(`/events?topic=${t}`);
        es.onopen = () => (window.opened = true);
        es.onmessage = (e) => window.got.push(e.data as string);
      }, topic);
    }
  }

  const received = (tabs: TestPage[], data: string): Promise<boolean[]> => Promise.all(tabs.map((t) => t.evaluate((d) => window.got.includes(d), data)));

  it(
    'each with a bare EventSource over HTTP/1.1: six tabs get a connection and receive, the other six get nothing',
    async () => {
      const topic = `bare-${browserName}`;
      const tabs = await openTabs(`${server.url}/metrics`); // any page of the origin: loaded before any stream holds a connection
      await eventSources(tabs, topic);
      await waitFor(async () => (await streams()) >= 6, 'six streams', WAIT_MS);
      // two events, each seen by every tab that has a stream: the others had all that time
      for (const data of ['one', 'two']) {
        await server.publish(topic, data);
        await waitFor(async () => (await received(tabs, data)).filter(Boolean).length >= 6, `six tabs to receive "${data}"`, WAIT_MS);
      }
      const got = await received(tabs, 'two');
      console.log(`${browserName}, HTTP/1.1, bare EventSource: ${got.filter(Boolean).length} of ${TABS} tabs receive`);
      expect(got.filter(Boolean)).toHaveLength(6);
      expect(await Promise.all(tabs.map((t) => t.evaluate(() => window.opened)))).toEqual(got);
      expect(await streams()).toBe(6);
    },
    TEST_MS,
  );

  it(
    'each with a bare EventSource over HTTP/2 (the nginx front, TLS): all twelve receive',
    async () => {
      const topic = `h2-${browserName}`;
      const tabs = await openTabs(`${nginx.httpsUrl}/metrics`);
      await eventSources(tabs, topic);
      await waitFor(async () => (await streams()) === TABS, 'twelve streams', WAIT_MS);
      await server.publish(topic, 'to every tab');
      await waitFor(async () => (await received(tabs, 'to every tab')).every(Boolean), 'all twelve tabs to receive', WAIT_MS);
      const protocol = await tabs[0]!.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol);
      expect(protocol).toBe('h2');
    },
    TEST_MS,
  );
});
