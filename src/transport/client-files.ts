// The browser client (src/client/, built by its own tsconfig to dist/client/): GET /client.js is a
// stable entry that re-exports /client/index.js, whose modules import each other by relative path,
// so each is served under /client/. Every file carries an ETag (StaticFile).
import { existsSync, readFileSync } from 'node:fs';
import { HttpError } from '../intake/errors.js';
import { StaticFile } from './static-file.js';

const HERE = new URL('.', import.meta.url);
/** from dist/src/transport/ (the build) or src/transport/ (sources run directly), the checkout's dist/client/ */
const CLIENT_DIR = new URL(HERE.href.endsWith('/dist/src/transport/') ? '../../client/' : '../../dist/client/', HERE);
const JS = 'text/javascript; charset=utf-8';
/** a module of the built client: lower-case words and dashes */
const MODULE_PATH = /^\/client\/[a-z][a-z-]*\.js$/;
const ENTRY = Buffer.from("export * from './client/index.js';\n");

function read(name: string): Buffer {
  try {
    return readFileSync(new URL(name, CLIENT_DIR));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new HttpError('NOT_FOUND', 'the browser client is not built (dist/client/ is missing): run `make` or `npm run build`');
  }
}

const files = new Map<string, StaticFile>([
  // read index.js only to say clearly when the client was not built
  ['/client.js', new StaticFile(() => (read('index.js'), ENTRY), JS)],
]);

/** The client's file at `path`, or undefined when the path is not one of its. */
export function clientFile(path: string): StaticFile | undefined {
  let file = files.get(path);
  // only files that exist are kept: any number of made-up names must not grow the map
  if (file === undefined && MODULE_PATH.test(path) && existsSync(new URL(path.slice('/client/'.length), CLIENT_DIR))) {
    file = new StaticFile(() => read(path.slice('/client/'.length)), JS);
    files.set(path, file);
  }
  return file;
}
