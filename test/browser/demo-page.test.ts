// The console at GET / in real browsers (Debian's Chromium and Firefox ESR, see ../helpers/browsers.ts)
// against the real server: it reads the stream (every event name), shows events, publishes, switches
// topic, pauses and filters, resumes after the server closes streams, holds one stream, and shows the
// server and topics panels; the browser's own EventSource is tested here too (reset and resume). Every test runs in each
// browser: their fetch-streaming and EventSource implementations differ. The Chromium run saves
// results/console.png.
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BROWSERS, launchBrowser, type Target, type TestBrowser, type TestPage } from '../helpers/browsers.js';
import { startServer, waitFor, type TestServer } from '../helpers/server.js';

/** What the test EventSources below record, in order, in `window.log`. */
declare global {
  interface Window {
    log: string[];
  }
}

describe.each(BROWSERS)('demo page in %s', (browserName) => {
  let server: TestServer | undefined;
  let browser: TestBrowser | undefined;
  let page: TestPage | undefined;

  beforeAll(async () => {
    server = await startServer({ DEBUG_FAULTS: '1', RETRY_MS: '100' });
    browser = await launchBrowser(browserName); // throws, never skips, when the browser is missing
  });

  afterAll(async () => {
    await browser?.close(); // first, so that the page does not see the server go away
    await server?.stop();
  });

  afterEach(async () => {
    const errors = page?.errors ?? [];
    await page?.close();
    page = undefined;
    expect(errors, 'uncaught errors in the page').toEqual([]);
  });

  async function open(url: string, opts?: { headers?: Record<string, string> }): Promise<TestPage> {
    page = await browser!.open(`${server!.url}${url}`, opts);
    return page;
  }

  async function openDemo(topic: string): Promise<TestPage> {
    await open(`/?topic=${topic}`);
    await waitOpen(topic);
    return page!;
  }

  /** Waits until the page's EventSource for `topic` has opened (the server has registered it). */
  async function waitOpen(topic: string): Promise<void> {
    await page!.waitFor(`#state[data-state="open"][data-topic="${topic}"]`);
    expect(await page!.text('#state')).toBe('open');
  }

  /** The row of the event list that contains `text`, or with `inner`, that cell of it. */
  function row(text: string, inner?: string): Target {
    return { css: '#events li', hasText: text, inner };
  }

  /**
   * In the page (already open on this server), the browser's own EventSource on `url`, logging into
   * `window.log`: `open`, `error` (the connection dropped), `reset`, and `message:<lastEventId>:<data>`.
   */
  async function logEventSource(url: string): Promise<void> {
    await page!.evaluate((u) => {
      window.log = [];
      const es = new EventSource(u);
      es.addEventListener('open', () => window.log.push('open'));
      es.addEventListener('error', () => window.log.push('error'));
      es.addEventListener('reset', () => window.log.push('reset'));
      es.addEventListener('message', (e) => window.log.push(`message:${(e as MessageEvent).lastEventId}:${(e as MessageEvent).data}`));
    }, url);
  }

  const log = (): Promise<string[]> => page!.evaluate(() => window.log);
  const closeStreams = async (): Promise<void> => {
    expect((await fetch(`${server!.url}/_debug/close-streams`, { method: 'POST' })).status).toBe(202);
  };

  it('shows an event published through the HTTP API, escaped, with its id', async () => {
    await openDemo('t1');
    const data = 'hello <b>from the API</b> & friends';
    const id = await server!.publish('t1', data);
    await page!.waitFor(row(data));
    expect(await page!.text(row(data, '.data'))).toBe(data);
    expect(await page!.text(row(data, '.id'))).toBe(id);
    expect(await page!.count('#events b'), 'data must be inserted as text, not HTML').toBe(0);
  });

  it('publishes from its own form, named event and multi-line data included', async () => {
    await openDemo('t-form');
    const data = 'first line\nsecond line';
    await page!.fill('#data', data);
    await page!.fill('#event-name', 'greeting');
    await page!.click('#publish');
    await page!.waitFor({ css: '#publish-result', hasText: 'published, id ' });
    const id = (await page!.text('#publish-result'))!.replace('published, id ', '');
    await page!.waitFor(row('second line'));
    expect(await page!.text(row('second line', '.data'))).toBe(data);
    expect(await page!.text(row('second line', '.name'))).toBe('greeting');
    expect(await page!.text(row('second line', '.id'))).toBe(id);

    // A refusal shows the server's JSON error.
    await page!.fill('#event-name', '');
    await page!.fill('#data', 'x'.repeat(70_000)); // over the default MAX_PUBLISH_BYTES (65536)
    // The server answers from the headers while the body is still coming, then reads and drops the
    // body before closing: a reset would make Firefox report a network error instead of the 413.
    await page!.click('#publish');
    await page!.waitFor({ css: '#publish-result', hasText: 'error 413' });
    expect(await page!.text('#publish-result')).toContain('"code":"BODY_TOO_LARGE"');
  });

  it('switches topic with the chooser: events of the new topic arrive, those of the old one do not', async () => {
    await openDemo('t-old');
    await page!.fill('#topic', 't-new');
    await page!.click('#connect');
    await waitOpen('t-new');
    expect(new URL(await page!.url()).searchParams.get('topic')).toBe('t-new');

    await server!.publish('t-old', 'on the old topic');
    await server!.publish('t-new', 'on the new topic');
    await page!.waitFor(row('on the new topic'));
    expect(await page!.count(row('on the old topic'))).toBe(0);
  });

  it("refuses a bad topic in the chooser with the server's own rule and message", async () => {
    await openDemo('t-rule');
    await page!.fill('#topic', 'no spaces allowed');
    await page!.click('#connect');
    await page!.waitFor('#state[data-state="closed"][data-topic="no spaces allowed"]');
    expect(await page!.text('#publish-result')).toBe('topic must be 1 to 128 characters of A-Za-z0-9_.:/-');
  });

  it('shows a reset frame distinctly when the server cannot resume', async () => {
    // As a browser reconnecting with an id from before a restart: the server opens the stream with a reset frame.
    await open('/?topic=t-reset', { headers: { 'last-event-id': 'not-an-id-of-this-server' } });
    await page!.waitFor('#events li.reset');
    expect(await page!.text('#events li.reset .data')).toContain('"reason"');
    await waitOpen('t-reset');
  });

  it("after a reset the browser resumes from the reset's position, not from the unresumable id again", async () => {
    await open('/?topic=unused');
    // The browser's own EventSource, first connecting with an id this server cannot resume.
    await logEventSource('/events?topic=t-position&lastEventId=from-another-server-42');
    await page!.waitUntil(() => window.log.includes('reset'));
    // The server ends the stream; the browser reconnects by itself with its Last-Event-ID.
    await closeStreams();
    await page!.waitUntil(() => window.log.filter((l) => l === 'open').length === 2);
    await server!.publish('t-position', 'after the reconnect');
    await page!.waitUntil(() => window.log.some((l) => l.endsWith(':after the reconnect')));
    expect((await log()).filter((l) => l === 'reset')).toHaveLength(1);
  });

  it("after a reset the browser resumes from the reset's position: events published while it was disconnected are replayed", async () => {
    await open('/?topic=unused');
    await logEventSource('/events?topic=t-replay&lastEventId=from-another-server-7');
    await page!.waitUntil(() => window.log.includes('reset'));

    // The server ends the stream. Once the browser has seen it drop (it waits RETRY_MS before it
    // reconnects), events are published: only a resume from the reset's position can bring them back.
    await closeStreams();
    await page!.waitUntil(() => window.log.includes('error'));
    const res = await server!.publishJson(['missed 1', 'missed 2\nwith a second line', 'missed 3'].map((data) => ({ topic: 't-replay', data })));
    expect(res.status).toBe(202);
    const { ids } = (await res.json()) as { ids: string[] };

    // Back: then one live event, so that anything replayed twice would have shown up before it.
    await page!.waitUntil(() => window.log.filter((l) => l === 'open').length === 2);
    const liveId = await server!.publish('t-replay', 'live');
    await page!.waitUntil(() => window.log.some((l) => l.endsWith(':live')));
    expect(await log()).toEqual([
      'open',
      'reset',
      'error',
      'open',
      `message:${ids[0]}:missed 1`,
      `message:${ids[1]}:missed 2\nwith a second line`,
      `message:${ids[2]}:missed 3`,
      `message:${liveId}:live`,
    ]);
  });

  // ---- the console ----

  it('shows named and unnamed events published elsewhere, whatever the name, and a hostile payload as text', async () => {
    await openDemo('t-names');
    const hostile = '<img src=x onerror="window.pwned=1">';
    const a = await server!.publish('t-names', 'plain one');
    const b = await server!.publish('t-names', 'named one', { event: 'never-seen-before' });
    const c = await server!.publish('t-names', hostile, { event: 'message' });
    const d = await server!.publish('t-names', 'odd name', { event: '<b>x</b> error' });
    await page!.waitFor(row('odd name'));
    expect(await page!.text(row('plain one', '.id'))).toBe(a);
    expect(await page!.text(row('named one', '.name'))).toBe('never-seen-before');
    expect(await page!.text(row('named one', '.id'))).toBe(b);
    expect(await page!.text(row(hostile, '.data'))).toBe(hostile);
    expect(await page!.text(row(hostile, '.id'))).toBe(c);
    expect(await page!.text(row('odd name', '.name'))).toBe('<b>x</b> error');
    expect(await page!.text(row('odd name', '.id'))).toBe(d);
    expect(await page!.count('#events img')).toBe(0);
    expect(await page!.count('#events b')).toBe(0);
    expect(await page!.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it('pause holds events, resume shows them in order; filter hides rows; clear empties the list', async () => {
    await openDemo('t-pause');
    await server!.publish('t-pause', 'before pause');
    await page!.waitFor(row('before pause'));
    await page!.click('#pause');
    await server!.publish('t-pause', 'held 1');
    await server!.publish('t-pause', 'held 2');
    await page!.waitFor({ css: '#held', hasText: '2 held' });
    expect(await page!.count(row('held 1'))).toBe(0);
    await page!.click('#pause');
    await page!.waitFor(row('held 2'));
    expect(await page!.evaluate(() => Array.from(document.querySelectorAll('#events .data')).map((e) => e.textContent))).toEqual(['before pause', 'held 1', 'held 2']);
    await page!.fill('#filter', 'HELD 2');
    expect(await page!.evaluate(() => Array.from(document.querySelectorAll('#events li:not([hidden]) .data')).map((e) => e.textContent))).toEqual(['held 2']);
    await page!.fill('#filter', '');
    await page!.click('#clear');
    expect(await page!.count('#events li')).toBe(0);
  });

  it('the console reconnects after the server closes its stream and resumes: missed events once, in order', async () => {
    await openDemo('t-resume');
    await server!.publish('t-resume', 'before');
    await page!.waitFor(row('before'));
    await closeStreams();
    const missed = [await server!.publish('t-resume', 'missed 1'), await server!.publish('t-resume', 'missed 2', { event: 'named' })];
    await page!.waitFor(row('missed 2'));
    await waitOpen('t-resume');
    const live = await server!.publish('t-resume', 'live');
    await page!.waitFor(row('live'));
    const ids = await page!.evaluate(() => Array.from(document.querySelectorAll('#events .id')).map((e) => e.textContent));
    expect(ids.slice(1)).toEqual([...missed, live]);
  });

  it('publishes JSON from the form and refuses JSON that does not parse', async () => {
    await openDemo('t-json');
    await page!.evaluate(() => {
      (document.getElementById('format') as HTMLSelectElement).value = 'json';
    });
    await page!.fill('#data', '{"price": 42}');
    await page!.fill('#event-name', 'quote');
    await page!.click('#publish');
    await page!.waitFor(row('"price": 42'));
    expect(await page!.text(row('"price": 42', '.name'))).toBe('quote');
    await page!.fill('#data', '{not json');
    await page!.click('#publish');
    await page!.waitFor({ css: '#publish-result', hasText: 'not JSON' });
  });

  it('the console holds one stream: the server counts one connection for the page', async () => {
    // A browser opens at most six connections to a server over HTTP/1.1: a page that held two
    // streams (its topic and $presence) let three tabs take them all, and a fourth never loaded.
    await openDemo('t-one-stream');
    await page!.waitFor('#stats[data-at]:not([data-at=""])'); // the panels have made their first requests too
    // waits out the streams of earlier tests' closed pages; the old console stayed at 2
    await waitFor(async () => (await server!.metric('sse_connections')) === 1, 'the server to count one stream');
    expect(await page!.evaluate(() => document.getElementById('state')!.dataset['role'])).toBe('leader');
  });

  it('the server panel updates every second with charts, the topics panel shows the busiest topics live', async () => {
    await openDemo('t-panels');
    await page!.waitFor('#stats .uplot'); // the charting library loaded from this server
    const at = Number(await page!.evaluate(() => document.getElementById('stats')!.dataset['at']));
    await page!.waitUntil((before) => Number(document.getElementById('stats')!.dataset['at']) > before, at);
    // the page's own stream is counted
    await page!.waitUntil(() => Number(document.getElementById('s-conn')!.textContent) >= 1);
    expect(await page!.text('#s-shards')).toMatch(/#0: \d+/);
    // a topic gains subscribers elsewhere: the topics panel shows it within a second or so (GET /topics)
    await page!.evaluate((url) => {
      for (let i = 0; i < 3; i++) new EventSource(`${url}/events?topic=t-busy`);
    }, server!.url);
    await page!.waitFor({ css: '#topics li', hasText: 't-busy' });
    await page!.waitUntil(() => Array.from(document.querySelectorAll('#topics li')).some((li) => li.textContent === 't-busy3'));
    for (let i = 0; i < 20; i++) await server!.publish('t-panels', `event ${i} <img src=x onerror=alert(1)>`, { event: i % 2 ? 'tick' : undefined });
    await page!.waitFor(row('event 19'));
    await page!.waitUntil(() => Number(document.getElementById('s-ev')!.textContent) > 0);
    if (browserName === 'chromium') {
      // The screenshot in docs/presence-and-console.md: refreshed with UPDATE_SCREENSHOT=1, so a plain test run leaves the tree clean.
      const dir = process.env['UPDATE_SCREENSHOT'] === '1' ? fileURLToPath(new URL('../../results/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'sse-console-'));
      mkdirSync(dir, { recursive: true });
      await page!.screenshot(join(dir, 'console.png'), 1280);
      expect(statSync(join(dir, 'console.png')).size).toBeGreaterThan(10_000);
    }
  });
});
