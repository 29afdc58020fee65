// The HTTP surface of one shard (or of the single-process server): one uWS app and its route table.
// uWS lifecycle rules: onAborted is attached before a handler returns whenever the response outlives
// it, and every write made later (promise, timer) is corked.
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import type { Shard } from '../fanout/shard.js';
import type { AccessControl } from '../intake/access-control.js';
import { HttpError } from '../intake/errors.js';
import { GLOBAL_SLOT } from '../threads/shared-counters.js';
import { phaseOf } from '../handover/phase.js';
import { Cors, EVENTS_PREFLIGHT, PUBLISH_PREFLIGHT, TOPICS_PREFLIGHT, type Preflight } from './cors.js';
import { DeferredResponse } from './deferred-response.js';
import { EventsHandler } from './events-handler.js';
import { handlePublish, type Publish } from './publish-handler.js';
import { markHeadOnly, refuseWhileSending, send, sendError, sendJson, type Linger } from './responses.js';
import { createApp } from './uws-app.js';
import type { Ask } from '../presence/queries.js';
import { CONSOLE_PAGE } from './console-files.js';
import { ConsoleRoutes } from './console-routes.js';

/** What a shard asks of the thread that sequences events and holds the metrics registry. */
export interface Backend {
  publish: Publish;
  metricsText(): Promise<string>;
  /** presence and live figures (GET /topics, GET /stats) */
  ask: Ask;
}

export interface ShardHttpOptions {
  config: Config;
  shard: Shard;
  /** tokens and per-address limits (src/intake/access-control.ts) */
  access: AccessControl;
  backend: Backend;
  /** DEBUG_FAULTS=1 only: fault injection for tests */
  debug?: {
    /** POST /_debug/crash-shard: a fatal error inside this shard (worker shards only) */
    crash?: () => void;
    /** POST /_debug/close-streams: every shard ends all its streams (clients reconnect and resume) */
    closeStreams(): void;
  };
}

const GET = 'GET, HEAD';
const FRAMING_LINGER: Linger = { bytes: 64 * 1024, ms: 1_000, trustFraming: false };

/**
 * RFC 9112 6.3: several Content-Length headers, or one that is not a plain number, or one beside
 * Transfer-Encoding, leave the end of the body in doubt (request smuggling). This uWS build also
 * does not check chunk framing strictly, so a chunked publish is refused (411) rather than misread.
 */
function framingError(req: HttpRequest, publishing: boolean): 'BAD_FRAMING' | 'LENGTH_REQUIRED' | undefined {
  let lengths = 0;
  let malformed = false;
  let transferEncoding = false;
  req.forEach((key, value) => {
    if (key === 'content-length') {
      lengths++;
      malformed ||= !/^\d{1,15}$/.test(value);
    } else if (key === 'transfer-encoding') transferEncoding = true;
  });
  if (lengths > 1 || malformed || (transferEncoding && lengths > 0)) return 'BAD_FRAMING';
  if (transferEncoding) return publishing ? 'LENGTH_REQUIRED' : 'BAD_FRAMING';
  return undefined;
}

/** In cluster mode the threads that cannot reach Redis; on one server the durable log that cannot be written (the main thread writes it). */
function eventLogProblem(down: string[], clustered: boolean): string | undefined {
  if (down.length === 0) return undefined;
  return clustered
    ? `event log (Redis) unreachable from ${down.join(', ')}: publishes there are refused, streams stay open`
    : 'event log (DATA_DIR) cannot be written: publishes are refused until it can, streams stay open';
}

export class ShardHttp {
  readonly app: TemplatedApp;
  readonly events: EventsHandler;
  private readonly cors: Cors;
  private readonly consoleRoutes: ConsoleRoutes; // presence and console

  constructor(private readonly opts: ShardHttpOptions) {
    const { config, shard } = opts;
    this.cors = new Cors(config.corsOrigins);
    this.events = new EventsHandler(config, shard, this.cors, opts.access);
    this.app = createApp(config);
    this.consoleRoutes = new ConsoleRoutes(opts.shard, opts.access.auth, this.cors, opts.backend.ask);
    this.app.any('/*', (res, req) => this.route(res, req));
  }

  /** Handle for the acceptor of another thread (worker shards). */
  descriptor(): number {
    return this.app.getDescriptor();
  }

  /** Ends every stream over `ms`, then closes the app. */
  async shutdown(ms: number): Promise<void> {
    await this.events.shutdown(ms);
    this.app.close();
  }

  /** A fatal error: close everything now (clients reconnect elsewhere and resume). */
  close(): void {
    void this.events.shutdown(0);
    this.app.close();
  }

  private flag(slot: number): boolean {
    return this.opts.shard.counters.flag(slot) === 1;
  }

  private route(res: HttpResponse, req: HttpRequest): void {
    const method = req.getMethod().toUpperCase();
    const path = req.getUrl();
    try {
      const framing = framingError(req, path === '/publish' && method === 'POST');
      // Where the body ends is in doubt: answer, and close before anything after it is read as a request.
      if (framing !== undefined) return refuseWhileSending(res, new HttpError(framing), [], FRAMING_LINGER);
      if (method === 'HEAD') markHeadOnly(res);
      const get = method === 'GET' || method === 'HEAD';
      if (this.consoleRoutes.handles(path)) {
        if (get) return this.consoleRoutes.route(res, req, path);
        // the topic endpoints take Authorization: a cross-origin page needs a preflight
        if (method === 'OPTIONS') return this.preflight(res, req, TOPICS_PREFLIGHT);
        return this.notAllowed(res, `${GET}, OPTIONS`);
      }
      switch (path) {
        case '/events':
          if (get) return this.events.handle(res, req);
          // a fetch()-based client may send its token in Authorization: not a "simple" request
          if (method === 'OPTIONS') return this.preflight(res, req, EVENTS_PREFLIGHT);
          return this.notAllowed(res, `${GET}, OPTIONS`);
        case '/publish':
          if (method === 'POST') return this.publish(res, req);
          if (method === 'OPTIONS') return this.preflight(res, req, PUBLISH_PREFLIGHT);
          return this.notAllowed(res, 'POST, OPTIONS');
        case '/healthz':
          return get ? this.healthz(res) : this.notAllowed(res, GET);
        case '/metrics':
          return get ? this.metrics(res) : this.notAllowed(res, GET);
        case '/':
          return get ? CONSOLE_PAGE.serve(res, req) : this.notAllowed(res, GET);
        case '/_debug/crash-shard':
        case '/_debug/close-streams': {
          const action = path === '/_debug/crash-shard' ? this.opts.debug?.crash : this.opts.debug?.closeStreams;
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

  private preflight(res: HttpResponse, req: HttpRequest, allowed: Preflight): void {
    send(res, 204, '', 'text/plain', this.cors.preflight(req.getHeader('origin'), allowed));
  }

  private notAllowed(res: HttpResponse, allow: string): void {
    sendError(res, new HttpError('METHOD_NOT_ALLOWED'), [['Allow', allow]]);
  }

  private publish(res: HttpResponse, req: HttpRequest): void {
    handlePublish(res, req, {
      config: this.opts.config,
      auth: this.opts.access.auth,
      cors: this.cors,
      draining: () => this.flag(GLOBAL_SLOT.DRAINING),
      publish: this.opts.backend.publish,
    });
  }

  private healthz(res: HttpResponse): void {
    const { shard } = this.opts;
    const draining = this.flag(GLOBAL_SLOT.DRAINING);
    const problems = [
      eventLogProblem(shard.counters.eventLogDown(), this.opts.config.redisUrl !== undefined),
      this.opts.access.healthProblem(),
    ].filter((p): p is string => p !== undefined);
    const status = draining ? 'draining' : problems.length > 0 ? 'degraded' : 'ok';
    sendJson(res, draining ? 503 : 200, {
      status,
      ...(problems.length > 0 ? { problem: problems.join('; ') } : {}),
      shard: shard.index,
      connections: Atomics.load(shard.counters.sharedGlobal, GLOBAL_SLOT.CONNECTIONS),
      epoch: shard.history.epoch,
      lastSeq: shard.history.lastSeq,
      phase: phaseOf(shard.counters.sharedGlobal),
    });
  }

  private metrics(res: HttpResponse): void {
    new DeferredResponse(res).settle(this.opts.backend.metricsText(), (text) => send(res, 200, text, 'text/plain; version=0.0.4; charset=utf-8'));
  }
}
