// Real browsers for the demo-page tests, behind one tiny interface: Debian's Chromium driven by
// playwright-core (CDP) and Debian's Firefox ESR driven by puppeteer-core (WebDriver BiDi). Element
// queries run inside the page with the same code for both, so a test means the same in each browser.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

export const BROWSERS = ['chromium', 'firefox'] as const;
export type BrowserName = (typeof BROWSERS)[number];

const EXECUTABLE: Record<BrowserName, string> = { chromium: '/usr/bin/chromium', firefox: '/usr/bin/firefox-esr' };
const DEBIAN_PACKAGE: Record<BrowserName, string> = { chromium: 'chromium', firefox: 'firefox-esr' };
/** every wait gives up before vitest's 30 s test timeout, with its own message */
const WAIT_MS = 10_000;
const POLL_MS = 10;

/**
 * An element: the first match of `css` (with `hasText`, the first whose text content contains it);
 * with `inner`, the first match of `inner` inside that one. A plain string is `{ css }`.
 */
export type Target = string | { css: string; hasText?: string; inner?: string };

export interface TestPage {
  /** uncaught errors thrown in the page so far */
  readonly errors: string[];
  /** the page's location now (after any history.replaceState) */
  url(): Promise<string>;
  /** waits until the target exists */
  waitFor(target: Target): Promise<void>;
  /** the target's text content, or null when there is no such element */
  text(target: Target): Promise<string | null>;
  count(target: Target): Promise<number>;
  click(css: string): Promise<void>;
  /** sets an input's or textarea's value as typing would (input events included) */
  fill(css: string, value: string): Promise<void>;
  /** runs `fn(arg)` in the page; both must be serialisable (no closure over test variables) */
  evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R>;
  /** polls `fn(arg)` in the page until it returns something truthy */
  waitUntil<A = undefined>(fn: (arg: A) => unknown, arg?: A): Promise<void>;
  /** a PNG of the page at this viewport width (CSS pixels), written to `path` */
  screenshot(path: string, width?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TestBrowser {
  readonly name: BrowserName;
  /** a new page at `url`; `headers` are added to every request the page makes */
  open(url: string, opts?: { headers?: Record<string, string> }): Promise<TestPage>;
  close(): Promise<void>;
}

export interface LaunchOptions {
  /** accept any TLS certificate (a test's throwaway self-signed one) */
  acceptInsecureCerts?: boolean;
}

/** Never skips: a missing browser is a broken test set-up, not a passing test. */
export async function launchBrowser(name: BrowserName, opts: LaunchOptions = {}): Promise<TestBrowser> {
  const executable = EXECUTABLE[name];
  if (!existsSync(executable)) {
    throw new Error(`${executable} is missing: run \`make test-deps\` to install ${DEBIAN_PACKAGE[name]} from Debian`);
  }
  return name === 'chromium' ? launchChromium(executable, opts) : launchFirefox(executable, opts);
}

// ---- the element queries, evaluated in the page (self-contained: no references outside) ----

type Spec = { css: string; hasText?: string; inner?: string };
const spec = (t: Target): Spec => (typeof t === 'string' ? { css: t } : t);

const findAll = (s: Spec): number => {
  let all = Array.from(document.querySelectorAll(s.css));
  if (s.hasText !== undefined) all = all.filter((el) => (el.textContent ?? '').includes(s.hasText!));
  if (s.inner !== undefined) all = all.flatMap((el) => Array.from(el.querySelectorAll(s.inner!)));
  return all.length;
};
const findText = (s: Spec): string | null => {
  let all = Array.from(document.querySelectorAll(s.css));
  if (s.hasText !== undefined) all = all.filter((el) => (el.textContent ?? '').includes(s.hasText!));
  if (s.inner !== undefined) all = all.flatMap((el) => Array.from(el.querySelectorAll(s.inner!)));
  return all.length === 0 ? null : all[0]!.textContent;
};

const describeAll = (css: string): string =>
  JSON.stringify(Array.from(document.querySelectorAll(css)).slice(0, 5).map((el) => (el.textContent ?? '').slice(0, 200)));

/** The part both drivers share once the driver-specific calls are bound. */
function testPage(p: {
  errors: string[];
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  waitUntil<A>(fn: (arg: A) => unknown, arg: A, what: string): Promise<void>;
  click(css: string): Promise<void>;
  fill(css: string, value: string): Promise<void>;
  screenshot(path: string, width: number): Promise<void>;
  close(): Promise<void>;
}): TestPage {
  return {
    errors: p.errors,
    url: () => p.evaluate(() => location.href, undefined),
    async waitFor(t) {
      try {
        await p.waitUntil(findAll, spec(t), `an element ${JSON.stringify(spec(t))}`); // a count: truthy once found
      } catch (err) {
        // Say what is there instead, e.g. the text of an element that never got the expected one.
        const now = await p.evaluate(describeAll, spec(t).css).catch((e: Error) => `(page unreadable: ${e.message})`);
        throw new Error(`${(err as Error).message}; elements matching ${JSON.stringify(spec(t).css)} now: ${now}`, { cause: err });
      }
    },
    text: (t) => p.evaluate(findText, spec(t)),
    count: (t) => p.evaluate(findAll, spec(t)),
    click: (css) => p.click(css),
    fill: (css, value) => p.fill(css, value),
    evaluate: (fn, arg) => p.evaluate(fn, arg as never),
    waitUntil: (fn, arg) => p.waitUntil(fn, arg as never, fn.toString()),
    screenshot: (path, width = 1280) => p.screenshot(path, width),
    close: () => p.close(),
  };
}

async function withMessage<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw new Error(`waiting for ${what}: ${(err as Error).message}`, { cause: err });
  }
}

// ---- Chromium: playwright-core over CDP ----

async function launchChromium(executablePath: string, opts: LaunchOptions): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ...(opts.acceptInsecureCerts === true ? ['--ignore-certificate-errors'] : []),
    ],
  });
  const context = await browser.newContext();
  context.setDefaultTimeout(WAIT_MS);
  return {
    name: 'chromium',
    async open(url, opts = {}) {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push(err.message));
      if (opts.headers) await page.setExtraHTTPHeaders(opts.headers);
      await page.goto(url);
      return testPage({
        errors,
        evaluate: (fn, arg) => page.evaluate(fn as (arg: unknown) => never, arg as unknown),
        waitUntil: (fn, arg, what) => withMessage(what, async () => void (await page.waitForFunction(fn as (arg: unknown) => unknown, arg as unknown, { polling: POLL_MS }))),
        click: (css) => page.locator(css).click(),
        fill: (css, value) => page.locator(css).fill(value),
        async screenshot(path, width) {
          await page.setViewportSize({ width, height: 900 });
          await page.screenshot({ path, fullPage: true });
        },
        close: () => page.close(),
      });
    },
    close: () => browser.close(),
  };
}

// ---- Firefox: puppeteer-core over WebDriver BiDi ----

async function launchFirefox(executablePath: string, opts: LaunchOptions): Promise<TestBrowser> {
  // puppeteer makes a throw-away profile in the temp dir (with its automation prefs) and removes it on close.
  const browser = await puppeteer.launch({
    browser: 'firefox', executablePath, headless: true, protocol: 'webDriverBiDi', acceptInsecureCerts: opts.acceptInsecureCerts === true,
  });
  return {
    name: 'firefox',
    async open(url, opts = {}) {
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const errors: string[] = [];
      page.on('pageerror', (err) => errors.push((err as Error).message));
      if (opts.headers) await page.setExtraHTTPHeaders(opts.headers);
      await page.goto(url);
      return testPage({
        errors,
        evaluate: (fn, arg) => page.evaluate(fn as (arg: unknown) => never, arg),
        waitUntil: (fn, arg, what) => withMessage(what, async () => void (await page.waitForFunction(fn as (arg: unknown) => unknown, { polling: POLL_MS }, arg as unknown))),
        click: (css) => page.locator(css).click(),
        fill: (css, value) => page.locator(css).fill(value, { typingThreshold: 0 }), // set at once, as Playwright does, not typed key by key
        async screenshot(path, width) {
          await page.setViewport({ width, height: 900 });
          await page.screenshot({ path: path as `${string}.png`, fullPage: true });
        },
        close: () => page.close(),
      });
    },
    close: () => browser.close(),
  };
}
