// GET /events: admission (topics, draining, token, MAX_CONNECTIONS), then the stream: headers, the
// shard's resume bytes, and live events from the hub. Also owns the open streams of this shard:
// heartbeats, and ending them all at shutdown.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import { GzipGroups } from '../fanout/gzip-group.js';
import type { Shard } from '../fanout/shard.js';
import { acceptsGzip } from '../intake/accept-encoding.js';
import type { AccessControl } from '../intake/access-control.js';
import { subscriberToken, type SubscriberGrant } from '../intake/auth.js';
import { HttpError } from '../intake/errors.js';
import { topicsFromQuery } from '../intake/topics.js';
import { encodeComment, encodeRetry } from '../sequencing/sse-encoding.js';
import { GLOBAL_SLOT, SHARD_SLOT } from '../threads/shared-counters.js';
import type { Cors, Header } from './cors.js';
import { isHeadOnly, sendError, shed, type ShedCode } from './responses.js';
import { SseStream } from './sse-stream.js';

/** What a stream request needs from its uWS request object, read before the handler returns. */
interface StreamRequest {
  params: URLSearchParams;
  accept: string;
  lastEventId: string;
  authorization: string;
  cookie: string;
  /** the socket's peer address and X-Forwarded-For, for MAX_CONNECTIONS_PER_IP */
  peer: string;
  forwardedFor: string;
  acceptEncoding: string;
}

const ADDRESS_TEXT = new TextDecoder();

/**
 * A list header sent as several lines, joined in order as RFC 9110 5.3 says (getHeader reads only
 * the first line). A proxy such as HAProxy appends its own X-Forwarded-For line: reading the first
 * alone would believe a line the client wrote itself.
 */
function listHeader(req: HttpRequest, name: string): string {
  const lines: string[] = [];
  req.forEach((key, value) => key === name && lines.push(value));
  return lines.join(', ');
}

export class EventsHandler {
  private readonly streams = new Set<SseStream>();
  private readonly retryFrame: Buffer;
  private readonly openComment: Buffer;
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** COMPRESSION=gzip: one shared deflate context per topic set (docs/compression.md) */
  private readonly gzipGroups = new GzipGroups();

  constructor(
    private readonly config: Config,
    private readonly shard: Shard,
    private readonly cors: Cors,
    private readonly access: AccessControl,
  ) {
    this.retryFrame = encodeRetry(config.retryMs);
    this.openComment = encodeComment(`ok shard=${shard.index}`);
    this.heartbeatTimer = setInterval(() => {
      let sent = 0;
      for (const s of this.streams) if (s.heartbeat()) sent++;
      shard.counters.add(SHARD_SLOT.HEARTBEATS, sent);
    }, config.heartbeatMs);
  }

  handle(res: HttpResponse, req: HttpRequest): void {
    const r: StreamRequest = {
      params: new URLSearchParams(req.getQuery() ?? ''),
      accept: req.getHeader('accept'),
      lastEventId: req.getHeader('last-event-id'),
      authorization: req.getHeader('authorization'),
      cookie: req.getHeader('cookie'),
      peer: ADDRESS_TEXT.decode(res.getRemoteAddressAsText()),
      forwardedFor: this.access.addresses.enabled ? listHeader(req, 'x-forwarded-for') : '',
      acceptEncoding: req.getHeader('accept-encoding'),
    };
    const cors = this.cors.headers(req.getHeader('origin'));
    let topics: string[];
    try {
      topics = topicsFromQuery(r.params);
    } catch (err) {
      return sendError(res, err, cors); // with CORS headers, so a browser page can read why
    }
    if (this.shard.counters.flag(GLOBAL_SLOT.DRAINING) === 1) return this.shed(res, r, cors, 'DRAINING');
    const { auth } = this.access;
    if (!auth.needsToken(topics)) return this.open(res, r, topics, cors, {});
    const token = subscriberToken(r.authorization, r.cookie, r.params);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    auth.checkSubscriber(token, topics).then(
      (grant) => !aborted && res.cork(() => this.open(res, r, topics, cors, grant)),
      // keys not loaded yet (JWKS never reached): shed like overload, so a browser comes back
      (err: unknown) =>
        !aborted &&
        res.cork(() => (err instanceof HttpError && err.code === 'KEYS_UNAVAILABLE' ? this.shed(res, r, cors, 'KEYS_UNAVAILABLE') : sendError(res, err, cors))),
    );
  }

  /** Fault injection: ends every stream at once (clients reconnect and resume). */
  closeAll(): void {
    for (const s of [...this.streams]) s.end();
  }

  /** Shutdown: ends every stream, spread over `ms` so that clients do not all reconnect at once. */
  shutdown(ms: number): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const streams = [...this.streams];
    if (ms === 0 || streams.length === 0) {
      for (const s of streams) s.end();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let left = streams.length;
      streams.forEach((s, i) => {
        setTimeout(() => {
          s.end();
          if (--left === 0) resolve();
        }, (ms * i) / streams.length);
      });
    });
  }

  private shed(res: HttpResponse, r: StreamRequest, cors: Header[], code: ShedCode): void {
    this.shard.counters.add(SHARD_SLOT.SHED_CONNECTIONS);
    shed(res, r.accept, cors, code, this.config.retryMs);
  }

  private open(res: HttpResponse, r: StreamRequest, topics: string[], cors: Header[], grant: SubscriberGrant): void {
    const { shard } = this;
    if (isHeadOnly(res)) {
      this.writeStreamHead(res, cors, r);
      return void res.endWithoutBody();
    }
    // The header wins: browsers resend the original query (with its old lastEventId) on every reconnect.
    const lastEventId = r.lastEventId !== '' ? r.lastEventId : (r.params.get('lastEventId') ?? undefined);
    const caughtUp = shard.catchUp(lastEventId);
    if (caughtUp === undefined) return this.start(res, r, topics, cors, grant, lastEventId);
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    void caughtUp.then(() => !aborted && res.cork(() => this.start(res, r, topics, cors, grant, lastEventId)));
  }

  private start(res: HttpResponse, r: StreamRequest, topics: string[], cors: Header[], grant: SubscriberGrant, lastEventId: string | undefined): void {
    const { shard, config } = this;
    const { counters } = shard;
    if (!counters.tryAdmit(config.maxConnections)) return this.shed(res, r, cors, 'TOO_MANY_CONNECTIONS');
    const lease = this.access.addresses.admit(r.peer, r.forwardedFor); // MAX_CONNECTIONS_PER_IP
    if (lease === undefined) {
      counters.release();
      return this.shed(res, r, cors, 'TOO_MANY_CONNECTIONS_PER_IP');
    }

    const gzip = this.gzips(r) ? this.gzipGroups.encoder(topics) : undefined;
    const stream = new SseStream(res, new Set(topics), config, counters, gzip);
    res.onAborted(() => stream.aborted());
    stream.whenClosed(() => {
      this.streams.delete(stream);
      shard.unsubscribe(stream);
      counters.release();
      lease.release();
    });

    this.writeStreamHead(res, cors, r);
    const resume = shard.subscribe(stream, lastEventId, grant.exp === undefined ? undefined : grant.exp * 1000);
    stream.open(Buffer.concat([this.openComment, this.retryFrame, ...resume]));
    this.streams.add(stream);
  }

  private gzips(r: StreamRequest): boolean {
    return this.config.compression === 'gzip' && acceptsGzip(r.acceptEncoding);
  }

  private writeStreamHead(res: HttpResponse, cors: Header[], r: StreamRequest): void {
    res.writeStatus('200 OK');
    if (this.config.compression !== 'off') res.writeHeader('Vary', 'Accept-Encoding');
    if (this.gzips(r)) res.writeHeader('Content-Encoding', 'gzip');
    res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.writeHeader('Cache-Control', 'no-cache');
    res.writeHeader('X-Accel-Buffering', 'no');
    res.writeHeader('X-SSE-Shard', String(this.shard.index));
    for (const [k, v] of cors) res.writeHeader(k, v);
  }
}
