// One catalog of error responses: stable codes clients can match on, each with its HTTP status.
export const ERRORS = {
  BAD_TOPIC: { status: 400, message: 'topic must be 1 to 128 characters of A-Za-z0-9_.:/-' },
  MISSING_TOPIC: { status: 400, message: 'at least one topic is required: ?topic=T, repeatable, or ?topics=a,b' },
  TOO_MANY_TOPICS: { status: 400, message: 'at most 64 topics per stream' },
  RESERVED_TOPIC: { status: 400, message: 'topic $presence is reserved: the server publishes presence events there, clients may only subscribe' },
  BAD_PAGINATION: { status: 400, message: 'limit must be an integer from 1 to 1000; prefix and cursor at most 128 characters' },
  BAD_EVENT_NAME: { status: 400, message: 'event name must be 1 to 128 characters without CR, LF or NUL' },
  BAD_JSON: { status: 400, message: 'body is not valid JSON' },
  BAD_PUBLISH_ITEM: { status: 400, message: 'each item must be {"topic": string, "data": any JSON value, "event"?: string}' },
  EMPTY_BATCH: { status: 400, message: 'a JSON batch needs at least one item' },
  BAD_ENCODING: { status: 400, message: 'body must be UTF-8 text' },
  BAD_IDEMPOTENCY_KEY: { status: 400, message: 'an idempotency key is 1 to 256 visible ASCII characters, given once per request: the Idempotency-Key header or a per-item "idempotencyKey", not both' },
  BAD_FRAMING: { status: 400, message: 'conflicting or repeated Content-Length / Transfer-Encoding headers (RFC 9112 6.3)' },
  UNAUTHORIZED: { status: 401, message: 'missing or invalid token' },
  FORBIDDEN: { status: 403, message: 'token does not allow this topic' },
  NOT_FOUND: { status: 404, message: 'no such endpoint' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed on this endpoint' },
  LENGTH_REQUIRED: { status: 411, message: 'send the body with a Content-Length: chunked request bodies are refused (they cannot be framed strictly here)' },
  IDEMPOTENCY_KEY_REUSED: { status: 409, message: 'this idempotency key was used within IDEMPOTENCY_WINDOW for a different publish (topic, event or data): a retry must send the same body' },
  BODY_TOO_LARGE: { status: 413, message: 'body exceeds MAX_PUBLISH_BYTES' },
  TOO_MANY_CONNECTIONS: { status: 503, message: 'connection limit reached, retry later' },
  DRAINING: { status: 503, message: 'server is shutting down' },
  UNAVAILABLE: { status: 503, message: 'event log unavailable, retry later' },
  STORAGE_UNAVAILABLE: { status: 503, message: 'the event log on disk cannot be written (disk full or I/O error), retry later' },
  KEYS_UNAVAILABLE: { status: 503, message: 'token signing keys (JWKS) not loaded yet, retry later' },
  TOO_MANY_CONNECTIONS_PER_IP: { status: 503, message: 'too many streams from this address, retry later' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error that travels to the client as `{"error", "code"}` with its catalog status (and `Retry-After` when given). */
export class HttpError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    detail?: string,
    readonly retryAfterS?: number,
  ) {
    super(detail ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
  body(): string {
    return JSON.stringify({ error: this.message, code: this.code });
  }
}

/**
 * Draining or handing the log over: the publish was not taken. Retry-After is a bound, not a wait:
 * a new connection reaches the server that takes over at once, and this one closes the connection.
 */
export function drainingError(): HttpError {
  return new HttpError('DRAINING', undefined, 1);
}
