// The JWKS cache (src/intake/jwks-cache.ts) against a real node:http server on loopback: loaded once,
// refreshed after JWKS_CACHE_S, an unknown kid refetches at most once per interval, a failure keeps
// the last good keys, never-loaded says why and comes up by itself, and bad documents are refused.
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { JwksCache, redactUrl } from '../../../src/intake/jwks-cache.js';
import type { JwksState } from '../../../src/intake/jwks-feed.js';
import { waitFor } from '../../helpers/server.js';

const jwk = (kid: string): Record<string, unknown> => ({
  ...(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }) as object),
  kid,
  use: 'sig',
});

interface JwksServer {
  url: string;
  requests: number;
  status: number;
  body: string;
  setKeys(keys: unknown[]): void;
  close(): Promise<void>;
}

async function jwksServer(keys: unknown[]): Promise<JwksServer> {
  const s: JwksServer = {
    url: '',
    requests: 0,
    status: 200,
    body: '',
    setKeys: (k) => (s.body = JSON.stringify({ keys: k })),
    close: () => new Promise((r) => server.close(() => r())),
  };
  s.setKeys(keys);
  const server: Server = createServer((req, res) => {
    s.requests++;
    res.writeHead(s.status, { 'content-type': 'application/json' }).end(s.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
  return s;
}

const kids = (state: JwksState): Array<string | undefined> | undefined => state.keys?.map((k) => k.kid);
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

function cache(url: string, cacheS: number, kidRefetchMinMs?: number): { cache: JwksCache; log: string[] } {
  const log: string[] = [];
  const c = new JwksCache({ url, cacheS, ...(kidRefetchMinMs === undefined ? {} : { kidRefetchMinMs }), log: (l) => log.push(l) });
  cleanups.push(() => c.stop());
  return { cache: c, log };
}

describe('JwksCache', () => {
  it('loads the keys on start and tells listeners; skipped keys are logged', async () => {
    const idp = await jwksServer([jwk('a'), { kty: 'oct', k: 'c2VjcmV0', kid: 'sym' }, jwk('b')]);
    cleanups.push(() => idp.close());
    const { cache: c, log } = cache(idp.url, 300);
    const seen: JwksState[] = [];
    c.onChange((s) => seen.push(s));
    await c.start();
    expect(kids(c.state())).toEqual(['a', 'b']);
    expect(seen.map(kids)).toEqual([['a', 'b']]);
    expect(log.join('\n')).toMatch(/2 key\(s\) in force: a, b/);
    expect(log.join('\n')).toMatch(/skipped JWKS kid "sym": symmetric/);
  });

  it('an unknown kid refetches at once, then at most once per interval', async () => {
    const idp = await jwksServer([jwk('a')]);
    cleanups.push(() => idp.close());
    const { cache: c } = cache(idp.url, 300, 400);
    await c.start();
    expect(idp.requests).toBe(1);
    idp.setKeys([jwk('a'), jwk('b')]);
    await Promise.all([c.refetch(), c.refetch(), c.refetch()]); // concurrent askers share one fetch
    expect(idp.requests).toBe(2);
    expect(kids(c.state())).toEqual(['a', 'b']);
    await c.refetch(); // within the interval: no request
    expect(idp.requests).toBe(2);
    await new Promise((r) => setTimeout(r, 450));
    await c.refetch();
    expect(idp.requests).toBe(3);
  });

  it('refreshes after JWKS_CACHE_S: a removed key goes, an added one comes', async () => {
    const idp = await jwksServer([jwk('old'), jwk('keep')]);
    cleanups.push(() => idp.close());
    const { cache: c } = cache(idp.url, 1);
    await c.start();
    idp.setKeys([jwk('keep'), jwk('new')]);
    expect(kids(c.state())).toEqual(['old', 'keep']);
    await waitFor(() => kids(c.state())?.includes('new'), 'the refreshed set', 3_000);
    expect(kids(c.state())).toEqual(['keep', 'new']);
  });

  it('while the JWKS fails, the last good keys stay; no usable key counts as a failure', async () => {
    const idp = await jwksServer([jwk('a')]);
    cleanups.push(() => idp.close());
    const { cache: c, log } = cache(idp.url, 1, 0);
    await c.start();
    const version = c.state().version;
    idp.status = 500;
    await c.refetch();
    expect(kids(c.state())).toEqual(['a']);
    expect(log.join('\n')).toMatch(/unreachable \(HTTP 500\): the 1 cached key\(s\) stay in force/);
    idp.status = 200;
    idp.body = '{"keys": []}';
    await c.refetch();
    idp.body = '<html>';
    await c.refetch();
    idp.body = '{"nokeys": 1}';
    await c.refetch();
    expect(kids(c.state())).toEqual(['a']);
    expect(c.state().version).toBe(version);
    expect(log.join('\n')).toMatch(/no usable signature key/);
    expect(log.join('\n')).toMatch(/not JSON/);
    expect(log.join('\n')).toMatch(/no "keys" array/);
  });

  it('never reached: says why, and loads by itself once the JWKS comes up', async () => {
    const idp = await jwksServer([jwk('a')]);
    cleanups.push(() => idp.close());
    idp.status = 503;
    const { cache: c, log } = cache(idp.url, 300);
    await c.start();
    expect(c.state().keys).toBeUndefined();
    expect(c.state().problem).toBe('JWKS not loaded yet: HTTP 503');
    expect(log.join('\n')).toMatch(/not reached yet \(HTTP 503\)/);
    idp.status = 200;
    await waitFor(() => c.loaded, 'the JWKS to load after its outage', 5_000);
    expect(kids(c.state())).toEqual(['a']);
  });

  it('a closed port is a failure, not a crash', async () => {
    const idp = await jwksServer([]);
    const url = idp.url;
    await idp.close();
    const { cache: c } = cache(url, 300);
    await c.start();
    expect(c.state().keys).toBeUndefined();
    expect(c.state().problem).toMatch(/^JWKS not loaded yet: fetch failed: ECONNREFUSED/);
  });

  it('messages show the URL without credentials or query', () => {
    expect(redactUrl('https://user:pw@idp.example.com/certs?key=secret')).toBe('https://idp.example.com/certs');
  });
});
