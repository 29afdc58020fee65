// Presence and the console's endpoints, kept out of routes.ts:
//   GET /topics/{topic}                    {"topic", "subscribers", "lastId", "events"}
//   GET /topics?prefix=P&limit=L&cursor=C  {"topics": [{"topic", "subscribers"}], "next"}
//   GET /stats                             the live figures of the console (metrics/stats.ts)
//   GET /console/…                         the console's script and style, and its charting library (console-files.ts)
//   GET /client.js, GET /client/…          the browser client's modules (client-files.ts)
// The topic endpoints take the publisher's credentials (the same check as POST /publish): a
// publisher JWT sees only the topics its publish patterns cover, in the listing as for one topic.
// The counts live in the main thread (every shard, every server), asked through `ask`.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Shard } from '../fanout/shard.js';
import type { Auth, PublisherCheck } from '../intake/auth.js';
import { HttpError } from '../intake/errors.js';
import { isTopic, PRESENCE_TOPIC } from '../intake/topics.js';
import type { Ask, MainAnswers, MainQuery } from '../presence/queries.js';
import { clientFile } from './client-files.js';
import { CONSOLE_ASSETS } from './console-files.js';
import type { Cors, Header } from './cors.js';
import { DeferredResponse } from './deferred-response.js';
import { sendError, sendJson } from './responses.js';

export const MAX_PAGE = 1_000;
const DEFAULT_PAGE = 100;

/** The query of GET /topics, validated: limit 1..1000 (default 100), prefix and cursor at most 128 characters. */
export function pageQuery(params: URLSearchParams): { prefix: string; limit: number; cursor: string | undefined } {
  const limitText = params.get('limit');
  const limit = limitText === null ? DEFAULT_PAGE : /^\d{1,7}$/.test(limitText) ? Number(limitText) : NaN;
  const prefix = params.get('prefix') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  if (!(limit >= 1 && limit <= MAX_PAGE) || prefix.length > 128 || (cursor?.length ?? 0) > 128) throw new HttpError('BAD_PAGINATION');
  return { prefix, limit, cursor: cursor === '' ? undefined : cursor };
}

/** The topic of /topics/{topic} (percent-decoded): a topic name or $presence. */
export function topicOfPath(path: string): string {
  let topic: string;
  try {
    topic = decodeURIComponent(path.slice('/topics/'.length));
  } catch {
    throw new HttpError('BAD_TOPIC');
  }
  if (topic !== PRESENCE_TOPIC && !isTopic(topic)) throw new HttpError('BAD_TOPIC');
  return topic;
}

export class ConsoleRoutes {
  constructor(
    private readonly shard: Shard,
    private readonly auth: Auth,
    private readonly cors: Cors,
    private readonly ask: Ask,
  ) {}

  handles(path: string): boolean {
    return path === '/topics' || path.startsWith('/topics/') || path === '/stats' || CONSOLE_ASSETS.has(path) || clientFile(path) !== undefined;
  }

  route(res: HttpResponse, req: HttpRequest, path: string): void {
    const cors = this.cors.headers(req.getHeader('origin'));
    const asset = CONSOLE_ASSETS.get(path);
    if (asset !== undefined) return asset.serve(res, req);
    // a module script of another origin is fetched in CORS mode: CORS_ORIGINS may import the client
    const client = clientFile(path);
    if (client !== undefined) return client.serve(res, req, cors);
    if (path === '/stats') return this.answer(res, cors, { kind: 'stats' }, (stats) => stats);
    try {
      const publisher = this.checkPublisher(req.getHeader('authorization'));
      if (path === '/topics') {
        const q = pageQuery(new URLSearchParams(req.getQuery() ?? ''));
        // filtered before the page is cut, so neither the page, its size nor `next` tells of a hidden topic
        const scoped = Promise.resolve(publisher.patterns()).then((patterns) => ({ kind: 'list' as const, ...q, patterns }));
        return this.answer(res, cors, scoped, (page) => page);
      }
      const topic = topicOfPath(path);
      // The newest id and the names from this shard's own copy of the history; the count from the main thread.
      const { lastId, events } = this.shard.history.topicSummary(topic);
      const allowed = Promise.resolve(publisher.allow([topic])).then(() => ({ kind: 'subscribers' as const, topic }));
      return this.answer(res, cors, allowed, (subscribers) => ({ topic, subscribers, lastId, events }));
    } catch (err) {
      return sendError(res, err, cors);
    }
  }

  private checkPublisher(authorization: string): PublisherCheck {
    try {
      return this.auth.checkPublisher(authorization);
    } catch (err) {
      // the publisher's credential, whichever kinds are configured (the publish token, a publisher JWT)
      if (err instanceof HttpError && err.code === 'UNAUTHORIZED') throw new HttpError('UNAUTHORIZED', err.message.replace('POST /publish', 'GET /topics'));
      throw err;
    }
  }

  /** Asks the main thread, once the query is known (a publisher JWT being checked). */
  private answer<Q extends MainQuery>(res: HttpResponse, cors: Header[], query: Q | Promise<Q>, shape: (value: MainAnswers[Q['kind']]) => unknown): void {
    new DeferredResponse(res, cors).settle(
      Promise.resolve(query).then((q) => this.ask(q)),
      (value) => sendJson(res, 200, shape(value), cors),
    );
  }
}
