// The HTTP surface of one shard (or of the single-process server): routes, SSE streams, heartbeats
// and draining. uWS lifecycle rules: onAborted is attached before a handler returns whenever the
// response outlives it, and every write made later (promise, timer) is corked.
import * as uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import { Auth, bearer, cookie, type SubscriberGrant } from '../auth.js';
import type { Config } from '../config.js';
import { Cors, type Header } from '../cors.js';
import { HttpError } from '../errors.js';
import { parsePublish } from '../publish-request.js';
import type { Backend, Shard } from '../shard.js';
import { GLOBAL_SLOT, SHARD_SLOT } from '../shared-counters.js';
import { formatId } from '../event-ids.js';
import { encodeComment, encodeReset, encodeRetry } from '../sse-encoding.js';
import { topicsFromQuery } from '../topics.js';
import { renderDemoPage } from './demo-page.js';
import { readBody, send, sendError, sendJson } from './responses.js';
import { SseStream } from './sse-stream.js';
import './uws-augment.js';

export interface HttpAppOptions {
  config: Config;
  shard: Shard;
  backend: Backend;
  /** SHARDS=N: the worker's uWS app is a child of the acceptor and never listens itself */
  tls: boolean;
  /** DEBUG_FAULTS=1 only: fault injection for tests */
  debug?: {
    /** POST /_debug/crash-shard: a fatal error inside this shard (worker shards only) */
    crash?: () => void;
    /** POST /_debug/close-streams: every shard ends all its streams (clients reconnect and resume) */
    closeAllStreams(): void;
  };
}

/** What a stream request needs from its uWS request object, read before the handler returns. */
interface StreamRequest {
  params: URLSearchParams;
  accept: string;
  origin: string;
  lastEventId: string;
  authorization: string;
  cookie: string;
}

/**
 * The acceptor handles a request itself only while it has no shard to hand it to (all of them
 * being replaced): shed it like an over-limit request rather than answer 404.
 */
export function serveWhileNoShard(app: TemplatedApp, retryMs: number): void {
  app.any('/*', (res, req) => shedResponse(res, req.getHeader('accept'), [], 'UNAVAILABLE', retryMs));
}

/** A jittered `retry:` on a closed 200 stream for EventSource (a 503 stops a browser for good), else 503 + Retry-After. */
function shedResponse(res: HttpResponse, accept: string, cors: Header[], code: 'TOO_MANY_CONNECTIONS' | 'DRAINING' | 'UNAVAILABLE', retryMs: number): void {
  const retry = Math.round(retryMs + Math.random() * Math.max(retryMs, 1000) * 2);
  if (accept.includes('text/event-stream')) {
    send(res, 200, encodeRetry(retry), 'text/event-stream; charset=utf-8', cors, true);
  } else {
    sendError(res, new HttpError(code), [...cors, ['Retry-After', String(Math.ceil(retry / 1000))]], true);
  }
}

export class HttpApp {
  readonly app: TemplatedApp;
  private readonly streams = new Set<SseStream>();
  private readonly auth: Auth;
  private readonly cors: Cors;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly retryFrame: Buffer;
  private readonly openComment: Buffer;

  constructor(private readonly opts: HttpAppOptions) {
    const { config } = opts;
    this.auth = new Auth(config);
    this.cors = new Cors(config.corsOrigins);
    this.retryFrame = encodeRetry(config.retryMs);
    this.openComment = encodeComment(`ok shard=${opts.shard.index}`);
    this.app = opts.tls
      ? uWS.SSLApp({ cert_file_name: config.tlsCertFile!, key_file_name: config.tlsKeyFile! })
      : uWS.App();
    this.app.any('/*', (res, req) => this.route(res, req));
  }

  startHeartbeats(): void {
    const { counters } = this.opts.shard;
    this.heartbeatTimer = setInterval(() => {
      let sent = 0;
      for (const s of this.streams) if (s.heartbeat()) sent++;
      counters.add(SHARD_SLOT.HEARTBEATS, sent);
    }, this.opts.config.heartbeatMs);
  }

  /** Ends every stream, spread over `ms` so that clients do not all reconnect at once. */
  drain(ms: number): Promise<void> {
    clearInterval(this.heartbeatTimer);
    const streams = [...this.streams];
    if (streams.length === 0) return Promise.resolve();
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

  endAllStreams(): void {
    for (const s of [...this.streams]) s.end();
  }

  close(): void {
    clearInterval(this.heartbeatTimer);
    this.endAllStreams();
    this.app.close();
  }

  private flag(slot: number): boolean {
    return this.opts.shard.counters.flag(slot) === 1;
  }

  private route(res: HttpResponse, req: HttpRequest): void {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    try {
      switch (path) {
        case '/events':
          return method === 'GET' ? this.events(res, req) : this.notAllowed(res, 'GET');
        case '/publish':
          if (method === 'POST') return this.publish(res, req);
          if (method === 'OPTIONS') return send(res, 204, '', 'text/plain', this.cors.preflight(req.getHeader('origin')));
          return this.notAllowed(res, 'POST, OPTIONS');
        case '/healthz':
          return method === 'GET' ? this.healthz(res) : this.notAllowed(res, 'GET');
        case '/metrics':
          return method === 'GET' ? this.metrics(res) : this.notAllowed(res, 'GET');
        case '/':
          return method === 'GET' ? send(res, 200, renderDemoPage(), 'text/html; charset=utf-8') : this.notAllowed(res, 'GET');
        case '/_debug/crash-shard':
        case '/_debug/close-streams': {
          const action = path === '/_debug/crash-shard' ? this.opts.debug?.crash : this.opts.debug?.closeAllStreams;
          if (action === undefined || method !== 'POST') break;
          sendJson(res, 202, { shard: this.opts.shard.index });
          setImmediate(action);
          return;
        }
      }
      sendError(res, new HttpError('NOT_FOUND'));
    } catch (err) {
      sendError(res, err);
    }
  }

  private notAllowed(res: HttpResponse, allow: string): void {
    sendError(res, new HttpError('METHOD_NOT_ALLOWED'), [['Allow', allow]]);
  }

  private events(res: HttpResponse, req: HttpRequest): void {
    const r: StreamRequest = {
      params: new URLSearchParams(req.getQuery() ?? ''),
      accept: req.getHeader('accept'),
      origin: req.getHeader('origin'),
      lastEventId: req.getHeader('last-event-id'),
      authorization: req.getHeader('authorization'),
      cookie: req.getHeader('cookie'),
    };
    const cors = this.cors.headers(r.origin);
    let topics: string[];
    try {
      topics = topicsFromQuery(r.params);
    } catch (err) {
      return sendError(res, err, cors); // with CORS headers, so a browser page can read why
    }
    if (this.flag(GLOBAL_SLOT.DRAINING)) return this.shed(res, r, cors, 'DRAINING');
    if (!this.auth.subscribersNeedToken) return this.openStream(res, r, topics, cors, {});
    const token = bearer(r.authorization) ?? cookie(r.cookie, 'sse_token') ?? r.params.get('token') ?? undefined;
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.auth.checkSubscriber(token, topics).then(
      (grant) => !aborted && res.cork(() => this.openStream(res, r, topics, cors, grant)),
      (err: unknown) => !aborted && res.cork(() => sendError(res, err, cors)),
    );
  }

  /**
   * Over MAX_CONNECTIONS (or draining): an EventSource gets a 200 stream with only a jittered
   * `retry:` and is closed (a 503 would stop a browser for good); other clients get 503 + Retry-After.
   */
  private shed(res: HttpResponse, r: StreamRequest, cors: Header[], code: 'TOO_MANY_CONNECTIONS' | 'DRAINING'): void {
    this.opts.shard.counters.add(SHARD_SLOT.SHED_CONNECTIONS);
    shedResponse(res, r.accept, cors, code, this.opts.config.retryMs);
  }

  private openStream(res: HttpResponse, r: StreamRequest, topics: string[], cors: Header[], grant: SubscriberGrant): void {
    const { shard, config } = this.opts;
    const { counters } = shard;
    if (!counters.tryAdmit(config.maxConnections)) return this.shed(res, r, cors, 'TOO_MANY_CONNECTIONS');

    const topicSet = new Set(topics);
    // The header wins: browsers resend the original query (with its old lastEventId) on every reconnect.
    const lastEventId = r.lastEventId !== '' ? r.lastEventId : (r.params.get('lastEventId') ?? undefined);
    const plan = shard.history.resume(lastEventId, topicSet);
    const stream = new SseStream(res, topicSet, config, counters);
    stream.lastSeq = plan.lastSeq;

    let expiry: NodeJS.Timeout | undefined;
    res.onAborted(() => stream.aborted());
    stream.whenClosed(() => {
      clearTimeout(expiry);
      this.streams.delete(stream);
      shard.hub.remove(stream);
      counters.add(SHARD_SLOT.CONNECTIONS, -1);
      counters.release();
    });

    res.writeStatus('200 OK');
    res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.writeHeader('Cache-Control', 'no-cache');
    res.writeHeader('X-Accel-Buffering', 'no');
    res.writeHeader('X-SSE-Shard', String(shard.index));
    for (const [k, v] of cors) res.writeHeader(k, v);
    const head: Uint8Array[] = [this.openComment, this.retryFrame];
    if (plan.reset !== undefined) {
      head.push(encodeReset(plan.reset, formatId(shard.history.epoch, plan.lastSeq)));
      counters.add(SHARD_SLOT.RESETS);
    }
    head.push(...plan.events);
    counters.add(SHARD_SLOT.REPLAYED_EVENTS, plan.events.length);
    stream.open(Buffer.concat(head));

    shard.hub.add(stream);
    this.streams.add(stream);
    counters.add(SHARD_SLOT.CONNECTIONS);
    if (grant.exp !== undefined) {
      expiry = setTimeout(() => {
        counters.add(SHARD_SLOT.JWT_EXPIRED);
        stream.end();
      }, Math.max(0, grant.exp * 1000 - Date.now()));
    }
  }

  private publish(res: HttpResponse, req: HttpRequest): void {
    const { config, backend } = this.opts;
    const cors = this.cors.headers(req.getHeader('origin'));
    const contentType = req.getHeader('content-type');
    const declared = Number(req.getHeader('content-length') || 0);
    const params = new URLSearchParams(req.getQuery() ?? '');
    // Refusals before the body is read close the connection, so its unread body cannot be taken for a request.
    try {
      this.auth.checkPublisher(req.getHeader('authorization'));
      if (this.flag(GLOBAL_SLOT.DRAINING)) throw new HttpError('DRAINING');
      if (declared > config.maxPublishBytes) throw new HttpError('BODY_TOO_LARGE');
    } catch (err) {
      return sendError(res, err, cors, true);
    }
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const fail = (err: unknown, close = false): void => {
      if (!aborted) res.cork(() => sendError(res, err, cors, close));
    };
    readBody(
      res,
      config.maxPublishBytes,
      (body) => {
        const receivedAt = performance.timeOrigin + performance.now();
        let parsed;
        try {
          parsed = parsePublish(body, contentType, params);
        } catch (err) {
          return fail(err);
        }
        const { items, many } = parsed;
        backend.publish(items, receivedAt).then((ids) => {
          if (!aborted) res.cork(() => sendJson(res, 202, many ? { ids } : { id: ids[0] }, cors));
        }, fail);
      },
      () => fail(new HttpError('BODY_TOO_LARGE'), true),
    );
  }

  private healthz(res: HttpResponse): void {
    const draining = this.flag(GLOBAL_SLOT.DRAINING);
    const degraded = this.flag(GLOBAL_SLOT.DEGRADED);
    const status = draining ? 'draining' : degraded ? 'degraded' : 'ok';
    sendJson(res, draining ? 503 : 200, {
      status,
      ...(degraded ? { problem: 'event log (Redis) unreachable: publishing is refused, streams stay open' } : {}),
      shard: this.opts.shard.index,
      connections: Atomics.load(this.opts.shard.counters.sharedGlobal, GLOBAL_SLOT.CONNECTIONS),
      epoch: this.opts.shard.history.epoch,
      lastSeq: this.opts.shard.history.lastSeq,
    });
  }

  private metrics(res: HttpResponse): void {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    this.opts.backend.metricsText().then(
      (text) => !aborted && res.cork(() => send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8')),
      (err: unknown) => !aborted && res.cork(() => sendError(res, err)),
    );
  }
}
