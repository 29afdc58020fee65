// The console's static files: the page (GET /), its script and style from src/transport/console/,
// and the charting library (uPlot) from node_modules (no CDN: the console works offline).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ERRORS } from '../intake/errors.js';
import { TOPIC } from '../intake/topics.js';
import { StaticFile } from './static-file.js';

// tsc emits only what it compiles, so the build in dist/ reads the files from the checkout's
// src/transport/console/ too (make start and deploy/ both run a built checkout).
const HERE = new URL('.', import.meta.url);
const CONSOLE_DIR = new URL(HERE.href.endsWith('/dist/src/transport/') ? '../../../src/transport/console/' : 'console/', HERE);
const RULES_MARKER = '{{server-rules}}';

const require = createRequire(import.meta.url);
const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';

const consoleFile = (name: string) => (): Buffer => readFileSync(new URL(name, CONSOLE_DIR));
const moduleFile = (name: string) => (): Buffer => readFileSync(require.resolve(name));

/** index.html with the server's topic rule written in, so the page checks exactly what the server does. */
function page(): Buffer {
  const path = new URL('index.html', CONSOLE_DIR);
  const html = readFileSync(path, 'utf8');
  if (!html.includes(RULES_MARKER)) throw new Error(`${path.pathname} lacks the ${RULES_MARKER} marker`);
  // `<` escaped: no `</script>` can end the JSON's script element early
  const rules = JSON.stringify({ topic: TOPIC.source, badTopic: ERRORS.BAD_TOPIC.message }).replaceAll('<', '\\u003c');
  return Buffer.from(html.replace(RULES_MARKER, () => rules));
}

export const CONSOLE_PAGE = new StaticFile(page, 'text/html; charset=utf-8');

/** GET /console/…: what the page loads */
export const CONSOLE_ASSETS: ReadonlyMap<string, StaticFile> = new Map([
  ['/console/console.js', new StaticFile(consoleFile('console.js'), JS)],
  ['/console/console.css', new StaticFile(consoleFile('console.css'), CSS)],
  ['/console/uplot.js', new StaticFile(moduleFile('uplot/dist/uPlot.iife.min.js'), JS)],
  ['/console/uplot.css', new StaticFile(moduleFile('uplot/dist/uPlot.min.css'), CSS)],
]);
