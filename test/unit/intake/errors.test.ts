// The one catalog of error responses: a code's status and the `{"error", "code"}` body clients match on.
import { describe, expect, it } from 'vitest';
import { ERRORS, HttpError } from '../../../src/intake/errors.js';

describe('HttpError', () => {
  it('takes its status and message from the catalog', () => {
    const e = new HttpError('FORBIDDEN');
    expect(e.status).toBe(403);
    expect(e.code).toBe('FORBIDDEN');
    expect(e.message).toBe(ERRORS.FORBIDDEN.message);
    expect(e).toBeInstanceOf(Error);
  });

  it('a detail replaces the message, not the status or code', () => {
    const e = new HttpError('UNAUTHORIZED', 'token expired');
    expect([e.status, e.code, e.message]).toEqual([401, 'UNAUTHORIZED', 'token expired']);
  });

  it('body() is the JSON clients parse, whatever the detail contains', () => {
    expect(new HttpError('BAD_TOPIC').body()).toBe(`{"error":"${ERRORS.BAD_TOPIC.message}","code":"BAD_TOPIC"}`);
    const tricky = new HttpError('FORBIDDEN', 'topic "a\\b"\n</script>');
    expect(JSON.parse(tricky.body())).toEqual({ error: 'topic "a\\b"\n</script>', code: 'FORBIDDEN' });
  });

  it('the catalog has the statuses the README documents', () => {
    const byStatus: Record<number, string[]> = {};
    for (const [code, { status }] of Object.entries(ERRORS)) (byStatus[status] ??= []).push(code);
    expect(byStatus).toEqual({
      400: ['BAD_TOPIC', 'MISSING_TOPIC', 'TOO_MANY_TOPICS', 'BAD_EVENT_NAME', 'BAD_JSON', 'BAD_PUBLISH_ITEM', 'EMPTY_BATCH', 'BAD_ENCODING'],
      401: ['UNAUTHORIZED'],
      403: ['FORBIDDEN'],
      404: ['NOT_FOUND'],
      405: ['METHOD_NOT_ALLOWED'],
      413: ['BODY_TOO_LARGE'],
      500: ['INTERNAL'],
      503: ['TOO_MANY_CONNECTIONS', 'DRAINING', 'UNAVAILABLE'],
    });
  });
});
