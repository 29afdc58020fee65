// A file served from memory with a strong ETag, read on its first request and kept for the life of
// the process. Cache-Control: no-cache lets a browser keep it but ask every time: a client that holds
// the current version (If-None-Match) gets 304 without a body, and a new version is seen at once.
import { createHash } from 'node:crypto';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { noneMatchHits } from '../intake/if-none-match.js';
import type { Header } from './cors.js';
import { notModified, send } from './responses.js';

interface Loaded {
  bytes: Buffer;
  etag: string;
  /** what a 200 and a 304 both carry (RFC 9110 §15.4.5) */
  headers: Header[];
}

export class StaticFile {
  private loaded: Loaded | undefined;

  constructor(
    private readonly read: () => Buffer,
    private readonly type: string,
  ) {}

  /** `extra`: headers that depend on the request (CORS, for a module a page of another origin imports) */
  serve(res: HttpResponse, req: HttpRequest, extra: readonly Header[] = []): void {
    const { bytes, etag, headers } = this.load();
    const all = extra.length === 0 ? headers : [...headers, ...extra];
    if (noneMatchHits(req.getHeader('if-none-match'), etag)) return notModified(res, all);
    send(res, 200, bytes, this.type, all);
  }

  private load(): Loaded {
    if (this.loaded === undefined) {
      const bytes = this.read();
      // 22 base64url characters of SHA-256: 132 bits, and the same tag from every shard and server
      const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 22)}"`;
      this.loaded = { bytes, etag, headers: [['ETag', etag], ['Cache-Control', 'no-cache']] };
    }
    return this.loaded;
  }
}
