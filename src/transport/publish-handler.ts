// POST /publish: checks that need no body (token, draining, declared length) first, then reads the
// body within MAX_PUBLISH_BYTES, parses it, and answers with the ids once the events are sequenced.
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../config/config.js';
import type { Auth, PublisherCheck } from '../intake/auth.js';
import { drainingError, HttpError } from '../intake/errors.js';
import type { KeyedUnit } from '../intake/idempotency-keys.js';
import { parsePublish, type PublishItem } from '../intake/publish-request.js';
import type { Cors } from './cors.js';
import { DeferredResponse } from './deferred-response.js';
import { readBody, refuseWhileSending, sendError, sendJson, type Linger } from './responses.js';

/** After an early refusal, how much more of the body is read and dropped, and for how long, before closing. */
const LINGER: Linger = { bytes: 1 << 20, ms: 2_000, trustFraming: true };

/**
 * Sequences events: the ids at once (one server), or later (cluster mode: Redis numbers them; a
 * keyed publish on one server: the main thread decides). `keys`: what idempotency keys cover.
 */
export type Publish = (items: PublishItem[], receivedAt: number, keys?: readonly KeyedUnit[]) => string[] | Promise<string[]>;

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
  const idempotencyKey = req.getHeader('idempotency-key');
  // Refused before the body is read: the answer goes out at once, the connection closes in stages.
  let publisher: PublisherCheck; // PUBLISH_TOKEN, or a JWT checked against the topics once the body is parsed
  try {
    publisher = ctx.auth.checkPublisher(req.getHeader('authorization'));
    if (ctx.draining() && declared === 0) throw drainingError();
    if (declared > config.maxPublishBytes) throw new HttpError('BODY_TOO_LARGE');
  } catch (err) {
    if (declared === 0 || !(err instanceof HttpError)) return sendError(res, err, cors, true);
    return refuseWhileSending(res, err, cors, LINGER);
  }
  const later = new DeferredResponse(res, cors);
  // draining: the connection closes, so the retry opens one to the server that goes on
  const fail = (err: unknown, close = err instanceof HttpError && err.code === 'DRAINING'): void => later.write(() => sendError(res, err, cors, close));
  readBody(
    res,
    config.maxPublishBytes,
    (body) => {
      // Draining: refused once the body is in, so that the answer ends with a close (refuseWhileSending
      // keeps the connection, and a publisher told `Connection: close` waits for it before its retry)
      if (ctx.draining()) return fail(drainingError());
      const receivedAt = performance.timeOrigin + performance.now();
      let parsed;
      try {
        parsed = parsePublish(body, contentType, params, config.maxPublishBytes, idempotencyKey);
      } catch (err) {
        return fail(err);
      }
      const { items, many, keys } = parsed;
      const answer = (ids: string[]): void => later.write(() => sendJson(res, 202, many ? { ids } : { id: ids[0] }, cors));
      const publishNow = (): void => {
        let ids;
        try {
          ids = ctx.publish(items, receivedAt, keys);
        } catch (err) {
          return fail(err);
        }
        // Answered in this callback when the ids are known: a pipelined request behind it finds no answer pending.
        if (Array.isArray(ids)) answer(ids);
        else ids.then(answer, fail);
      };
      // The token is decided here too (see auth.ts), so the answer can go out in this callback: uWS
      // closes a connection whose next pipelined request arrives while an answer is pending.
      let allowed;
      try {
        allowed = publisher.allow(items.map((i) => i.topic));
      } catch (err) {
        return fail(err);
      }
      if (allowed === undefined) return publishNow();
      // only while the JWKS is fetched again for an unknown kid: a client gone meanwhile publishes nothing
      allowed.then(() => later.aborted || publishNow(), fail);
    },
    () => fail(new HttpError('BODY_TOO_LARGE'), true),
  );
}
