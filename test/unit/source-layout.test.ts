// Rules of the source tree that a reviewer would otherwise have to remember: only src/transport/
// touches uWebSockets.js, process.env is read only by the config module, and the browser client
// depends on nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

const files = sources(SRC).map((path) => ({ path: relative(SRC, path), text: readFileSync(path, 'utf8') }));

describe('source layout', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it('only src/transport/ imports uWebSockets.js', () => {
    const offenders = files.filter((f) => !f.path.startsWith('transport/') && /from\s+'uWebSockets\.js'|import\(\s*'uWebSockets\.js'\s*\)/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('only src/config/ reads process.env', () => {
    const offenders = files.filter((f) => !f.path.startsWith('config/') && /process\.env/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('src/client/ (the browser client) imports only its own modules: no package, no node:, nothing of the server', () => {
    const offenders = files
      .filter((f) => f.path.startsWith('client/'))
      .flatMap((f) => [...f.text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*'([^']+)'|\bimport\(\s*'([^']+)'/gm)].map((m) => m[1] ?? m[2]!))
      .filter((spec) => !/^\.\/[a-z-]+\.js$/.test(spec));
    expect(offenders).toEqual([]);
  });

  it('no source file passes 300 lines without saying why at its top', () => {
    const long = files.filter((f) => f.text.split('\n').length > 300 && !/^\/\/ Long because/m.test(f.text.slice(0, 2000)));
    expect(long.map((f) => f.path)).toEqual([]);
  });
});
