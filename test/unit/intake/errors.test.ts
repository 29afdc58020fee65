// The one catalog of error responses: a code's status and the `{"error", "code"}` body clients match on.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
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

  it('docs/api.md lists every code of the catalog, each under its status', () => {
    expect(documentedErrors()).toEqual(catalogByStatus());
  });
});

/** status -> codes, from the catalog */
function catalogByStatus(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [code, { status }] of Object.entries(ERRORS)) (out[status] ??= []).push(code);
  for (const codes of Object.values(out)) codes.sort();
  return out;
}

/** status -> codes, from the first sentence about errors in docs/api.md: `400` `BAD_TOPIC`, ...; `401` ... */
function documentedErrors(): Record<string, string[]> {
  const out = errorsSentence('docs/api.md');
  for (const codes of Object.values(out)) codes.sort();
  return out;
}

function errorsSentence(file: string): Record<string, string[]> {
  const doc = readFileSync(fileURLToPath(new URL(`../../../${file}`, import.meta.url)), 'utf8');
  const start = doc.indexOf('**Errors**');
  expect(start).toBeGreaterThanOrEqual(0);
  const paragraph = doc.slice(start, doc.indexOf('\n\n', start)).replace(/\s+/g, ' ');
  const sentence = paragraph.slice(0, paragraph.search(/`\.\s/) + 1);
  const out: Record<string, string[]> = {};
  let status: string | undefined;
  for (const [, token] of sentence.matchAll(/`([^`]+)`/g)) {
    if (/^\d{3}$/.test(token!)) status = token;
    else if (status !== undefined && /^[A-Z][A-Z_]+$/.test(token!)) (out[status] ??= []).push(token!);
  }
  for (const codes of Object.values(out)) codes.sort();
  return out;
}
