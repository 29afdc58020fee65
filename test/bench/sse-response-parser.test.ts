// The load generator's SSE parser against the independent eventsource-parser: same events whatever
// the framing (chunked as uWS sends, or plain as node:http can) and wherever the reads split.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { SseResponseParser } from '../../bench/load/sse-response-parser.js';

interface Seen {
  id: string;
  event: string;
  data: string;
}

const BODY = [
  ':ok shard=0\n\n',
  'retry: 3000\n\n',
  'id: abc-1\ndata: 1 1 123456 xxxxxxxx\n\n',
  'id: abc-2\nevent: update\ndata: line one\ndata: line two\n\n',
  ':\n\n',
  'event: reset\ndata: {"reason":"dropped"}\n\n',
  'id: abc-3\r\ndata: crlf\r\n\r\n',
  'id: abc-4\rdata: cr only\r\r',
  'data:no space\ndata:  two spaces\n\n',
  'id: abc-5\ndata: ünïcödé\n\n',
].join('');

function reference(body: string): Seen[] {
  const out: Seen[] = [];
  const p = createParser({ onEvent: (e: EventSourceMessage) => out.push({ id: e.id ?? '', event: e.event ?? '', data: e.data }) });
  p.feed(body);
  return out;
}

function chunked(body: Buffer, pieces: number): Buffer {
  const parts: Buffer[] = [];
  const size = Math.ceil(body.length / pieces);
  for (let i = 0; i < body.length; i += size) {
    const piece = body.subarray(i, i + size);
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

/** Feeds `wire` split at the given byte offsets, as latin1 strings (what the generator does). */
function parse(wire: Buffer, cuts: number[]): { parser: SseResponseParser; seen: Seen[] } {
  const seen: Seen[] = [];
  const parser = new SseResponseParser({ onEvent: (id, event, data) => seen.push({ id, event, data }) });
  let at = 0;
  for (const cut of [...cuts, wire.length]) {
    expect(parser.feed(wire.subarray(at, cut).toString('latin1'))).toBe(true);
    at = cut;
  }
  // the generator reads latin1; turn the data back into UTF-8 to compare with the reference
  return { parser, seen: seen.map((s) => ({ ...s, data: Buffer.from(s.data, 'latin1').toString('utf8') })) };
}

const HEAD_CHUNKED = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const HEAD_PLAIN = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n';

describe('SseResponseParser', () => {
  const expected = reference(BODY);
  const body = Buffer.from(BODY, 'utf8');

  it('reads the same events as eventsource-parser from a chunked and a plain response', () => {
    expect(expected.length).toBe(7);
    const c = parse(Buffer.concat([Buffer.from(HEAD_CHUNKED), chunked(body, 5)]), []);
    expect(c.parser.status).toBe(200);
    expect(c.parser.chunked).toBe(true);
    expect(c.parser.ended).toBe(true);
    expect(c.seen).toEqual(expected);
    const p = parse(Buffer.concat([Buffer.from(HEAD_PLAIN), body]), []);
    expect(p.parser.chunked).toBe(false);
    expect(p.seen).toEqual(expected);
  });

  it('gives the same events whatever the reads split: every single cut, and byte by byte', () => {
    for (const wire of [Buffer.concat([Buffer.from(HEAD_CHUNKED), chunked(body, 7)]), Buffer.concat([Buffer.from(HEAD_PLAIN), body])]) {
      for (let cut = 1; cut < wire.length; cut++) expect(parse(wire, [cut]).seen).toEqual(expected);
      expect(parse(wire, Array.from({ length: wire.length - 1 }, (_, i) => i + 1)).seen).toEqual(expected);
    }
  });

  it('reports a non-200 status and refuses a malformed chunk', () => {
    const refused = new SseResponseParser({ onEvent: () => undefined });
    refused.feed('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}');
    expect(refused.status).toBe(503);
    const bad = new SseResponseParser({ onEvent: () => undefined });
    expect(bad.feed(`${HEAD_CHUNKED}zz\r\n`)).toBe(false);
    expect(bad.error).toMatch(/chunk size/);
  });
});
