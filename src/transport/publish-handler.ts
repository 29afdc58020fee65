// POST /publish: checks that need no body (token, draining, declared length) first, then reads the
// body within MAX_PUBLISH_BYTES, parses it, and answers with the ids once the events are sequenced.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import type { Auth, PublisherCheck } from '../intake/auth.js';
import { HttpError } from '../intake/errors.js';
import { parsePublish, type PublishItem } from '../intake/publish-request.js';
import type { Cors } from './cors.js';
import { readBody, sendError, sendJson } from './responses.js';

/** Sequences events: in this thread (SHARDS=0) or by asking the main thread. */
export type Publish = (items: PublishItem[], receivedAt: number) => Promise<string[]>;

export function handlePublish(
  res: HttpResponse,
  req: HttpRequest,
  ctx: { config: Config; auth: Auth; cors: Cors; draining: () => boolean; publish: Publish },
): void {
  const { config } = ctx;
  const cors = ctx.cors.headers(req.getHeader('origin'));
  const contentType = req.getHeader('content-type');
  const declared = Number(req.getHeader('content-length') || 0);
  const params = new URLSearchParams(req.getQuery() ?? '');
  // Refusals before the body is read close the connection, so its unread body cannot be taken for a request.
  let publisher: PublisherCheck; // PUBLISH_TOKEN, or a JWT checked against the topics once the body is parsed
  try {
    publisher = ctx.auth.checkPublisher(req.getHeader('authorization'));
    if (ctx.draining()) throw new HttpError('DRAINING');
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
      const allowed = publisher.allow(items.map((i) => i.topic)); // undefined: allowed now
      (allowed === undefined ? ctx.publish(items, receivedAt) : allowed.then(() => ctx.publish(items, receivedAt))).then((ids) => {
        if (!aborted) res.cork(() => sendJson(res, 202, many ? { ids } : { id: ids[0] }, cors));
      }, fail);
    },
    () => fail(new HttpError('BODY_TOO_LARGE'), true),
  );
}
