// The demo page at GET / in a real browser (Debian's Chromium, driven by playwright-core) against the
// real server: it subscribes with the browser's own EventSource, shows events, publishes, switches topic.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT_MS = 10_000; // every Playwright wait gives up before vitest's 30 s test timeout, with its own message

let server: TestServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let pageErrors: string[] = [];

beforeAll(async () => {
  // Never skip: a missing browser is a broken test setup, not a passing test.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run \`make test-deps\` to install Chromium from Debian`);
  server = await startServer({ DEBUG_FAULTS: '1', RETRY_MS: '100' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
});

afterAll(async () => {
  await browser?.close(); // first, so that the page does not see the server go away
  await server?.stop();
});

afterEach(async () => {
  await page?.close();
  expect(pageErrors, 'uncaught errors in the page').toEqual([]);
});

async function openDemo(topic: string): Promise<Page> {
  pageErrors = [];
  page = await context!.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${server!.url}/?topic=${topic}`);
  await waitOpen(topic);
  return page;
}

/** Waits until the page's EventSource for `topic` has opened (the server has registered it). */
async function waitOpen(topic: string): Promise<void> {
  await page.locator(`#state[data-state="open"][data-topic="${topic}"]`).waitFor();
  expect(await page.locator('#state').textContent()).toBe('open');
}

function row(text: string) {
  return page.locator('#events li', { hasText: text });
}

describe('demo page', () => {
  it('shows an event published through the HTTP API, escaped, with its id', async () => {
    await openDemo('t1');
    const data = 'hello <b>from the API</b> & friends';
    const id = await server!.publish('t1', data);
    await row(data).waitFor();
    expect(await row(data).locator('.data').textContent()).toBe(data);
    expect(await row(data).locator('.id').textContent()).toBe(id);
    expect(await page.locator('#events b').count(), 'data must be inserted as text, not HTML').toBe(0);
  });

  it('publishes from its own form, named event and multi-line data included', async () => {
    await openDemo('t-form');
    const data = 'first line\nsecond line';
    await page.locator('#data').fill(data);
    await page.locator('#event-name').fill('greeting');
    await page.locator('#publish').click();
    await page.locator('#publish-result', { hasText: 'published, id ' }).waitFor();
    const id = (await page.locator('#publish-result').textContent())!.replace('published, id ', '');
    await row('second line').waitFor();
    expect(await row('second line').locator('.data').textContent()).toBe(data);
    expect(await row('second line').locator('.name').textContent()).toBe('greeting');
    expect(await row('second line').locator('.id').textContent()).toBe(id);

    // A refusal shows the server's JSON error.
    await page.locator('#event-name').fill('');
    await page.locator('#data').fill('x'.repeat(70_000)); // over the default MAX_PUBLISH_BYTES (65536)
    await page.locator('#publish').click();
    await page.locator('#publish-result', { hasText: 'error 413' }).waitFor();
    expect(await page.locator('#publish-result').textContent()).toContain('"code":"BODY_TOO_LARGE"');
  });

  it('switches topic with the chooser: events of the new topic arrive, those of the old one do not', async () => {
    await openDemo('t-old');
    await page.locator('#topic').fill('t-new');
    await page.locator('#connect').click();
    await waitOpen('t-new');
    expect(new URL(page.url()).searchParams.get('topic')).toBe('t-new');

    await server!.publish('t-old', 'on the old topic');
    await server!.publish('t-new', 'on the new topic');
    await row('on the new topic').waitFor();
    expect(await row('on the old topic').count()).toBe(0);
  });

  it('shows a reset frame distinctly when the server cannot resume', async () => {
    pageErrors = [];
    page = await context!.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    // As a browser reconnecting with an id from before a restart: the server opens the stream with a reset frame.
    await page.route('**/events?*', (route) =>
      route.continue({ headers: { ...route.request().headers(), 'last-event-id': 'not-an-id-of-this-server' } }),
    );
    await page.goto(`${server!.url}/?topic=t-reset`);
    await page.locator('#events li.reset').waitFor();
    expect(await page.locator('#events li.reset .data').textContent()).toContain('"reason"');
    await waitOpen('t-reset');
  });

  it("after a reset the browser resumes from the reset's position, not from the unresumable id again", async () => {
    pageErrors = [];
    page = await context!.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${server!.url}/?topic=unused`);
    // The browser's own EventSource, first connecting with an id this server cannot resume.
    await page.evaluate(() => {
      const log: string[] = [];
      (window as unknown as { log: string[] }).log = log;
      const es = new EventSource('/events?topic=t-position&lastEventId=from-another-server-42');
      es.addEventListener('open', () => log.push('open'));
      es.addEventListener('reset', () => log.push('reset'));
      es.addEventListener('message', (e) => log.push(`message:${(e as MessageEvent).data}`));
    });
    const log = (): Promise<string[]> => page.evaluate(() => (window as unknown as { log: string[] }).log);
    await page.waitForFunction(() => (window as unknown as { log: string[] }).log.includes('reset'));
    // The server ends the stream; the browser reconnects by itself with its Last-Event-ID.
    await fetch(`${server!.url}/_debug/close-streams`, { method: 'POST' });
    await page.waitForFunction(() => (window as unknown as { log: string[] }).log.filter((l) => l === 'open').length === 2);
    await server!.publish('t-position', 'after the reconnect');
    await page.waitForFunction(() => (window as unknown as { log: string[] }).log.includes('message:after the reconnect'));
    expect((await log()).filter((l) => l === 'reset')).toHaveLength(1);
  });
});
