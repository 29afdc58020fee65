// GET /events: admission (topics, draining, token, MAX_CONNECTIONS), then the stream: headers, the
// shard's resume bytes, and live events from the hub. Also owns the open streams of this shard:
// heartbeats, and ending them all at shutdown.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import { GzipGroups } from '../fanout/gzip-group.js';
import type { Shard } from '../fanout/shard.js';
import { acceptsGzip } from '../intake/accept-encoding.js';
import type { AccessControl } from '../intake/access-control.js';
import type { AddressLease } from '../intake/address-limit.js';
import { subscriberToken, type SubscriberGrant } from '../intake/auth.js';
import { HttpError } from '../intake/errors.js';
import { topicsFromQuery } from '../intake/topics.js';
import { encodeComment, encodeRetry } from '../sequencing/sse-encoding.js';
import { GLOBAL_SLOT, SHARD_SLOT, type ShardCounters } from '../threads/shared-counters.js';
import type { Cors, Header } from './cors.js';
import { DeferredResponse } from './deferred-response.js';
import { isHeadOnly, sendError, shed, type ShedCode } from './responses.js';
import { SseStream, type Releasable } from './sse-stream.js';

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

/** A stream's MAX_CONNECTIONS and MAX_CONNECTIONS_PER_IP slots: an object, not a closure, as it lives as long as the stream. */
class Slots implements Releasable {
  private held = true;

  constructor(
    private readonly counters: ShardCounters,
    private readonly lease: AddressLease,
  ) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.counters.release();
    this.lease.release();
  }
}

export class EventsHandler {
  private readonly streams = new Set<SseStream>();
  /** the first bytes of every stream: the opening comment and the retry interval */
  private readonly streamHead: Buffer;
  private readonly heartbeatTimer: NodeJS.Timeout;
  /** COMPRESSION=gzip: one shared deflate context per topic set (docs/compression.md) */
  private readonly gzipGroups = new GzipGroups();

  constructor(
    private readonly config: Config,
    private readonly shard: Shard,
    private readonly cors: Cors,
    private readonly access: AccessControl,
  ) {
    this.streamHead = Buffer.concat([encodeComment(`ok shard=${shard.index}`), encodeRetry(config.retryMs)]);
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
    new DeferredResponse(res, cors).settle(
      auth.checkSubscriber(token, topics),
      (grant) => this.open(res, r, topics, cors, grant),
      // keys not loaded yet (JWKS never reached): shed like overload, so a browser comes back
      (err) => (err instanceof HttpError && err.code === 'KEYS_UNAVAILABLE' ? this.shed(res, r, cors, 'KEYS_UNAVAILABLE') : sendError(res, err, cors)),
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
    const waiting = new DeferredResponse(res, cors);
    const stopWaiting = shard.catchUp(lastEventId, () => waiting.write(() => this.start(res, r, topics, cors, grant, lastEventId)));
    if (stopWaiting === undefined) return this.start(res, r, topics, cors, grant, lastEventId);
    waiting.whenAborted(stopWaiting);
  }

  /**
   * Admits the stream and opens it. From admission on, its connection slots (MAX_CONNECTIONS and
   * MAX_CONNECTIONS_PER_IP) belong to the stream, which gives them back when it closes, however it
   * closes; a failure before the stream is open gives them back here.
   */
  private start(res: HttpResponse, r: StreamRequest, topics: string[], cors: Header[], grant: SubscriberGrant, lastEventId: string | undefined): void {
    const { shard, config } = this;
    const slots = this.admit(res, r, cors);
    if (slots === undefined) return;
    let stream: SseStream | undefined;
    let headWritten = false;
    try {
      const gzip = this.gzips(r) ? this.gzipGroups.encoder(topics) : undefined;
      const s = (stream = new SseStream(res, topics, config, shard.counters, gzip, slots));
      s.whenClosed(this.closed);
      const resume = shard.subscribe(s, lastEventId, grant.exp === undefined ? undefined : grant.exp * 1000);
      this.writeStreamHead(res, cors, r);
      headWritten = true;
      s.open(resume.reset === undefined ? this.streamHead : Buffer.concat([this.streamHead, resume.reset]), resume.replay);
      this.streams.add(s);
    } catch (err) {
      console.error('internal error:', err);
      stream?.aborted(); // ends it without writing; its close gives the slots back
      slots.release();
      // after a 200 head, an error body would read as stream data: the client reconnects instead
      if (headWritten) res.close();
      else sendError(res, err, cors);
    }
  }

  /** Both connection limits, or a shed answer and undefined. The slots are given back once, however often released. */
  private admit(res: HttpResponse, r: StreamRequest, cors: Header[]): Slots | undefined {
    const { counters } = this.shard;
    if (!counters.tryAdmit(this.config.maxConnections)) return void this.shed(res, r, cors, 'TOO_MANY_CONNECTIONS');
    const lease = this.access.addresses.admit(r.peer, r.forwardedFor); // MAX_CONNECTIONS_PER_IP
    if (lease === undefined) {
      counters.release();
      return void this.shed(res, r, cors, 'TOO_MANY_CONNECTIONS_PER_IP');
    }
    return new Slots(counters, lease);
  }

  private readonly closed = (s: SseStream): void => {
    this.streams.delete(s);
    this.shard.unsubscribe(s);
  };

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
