// The load generator's SSE parser against the independent eventsource-parser: same events whatever
// the framing (chunked as uWS sends, or plain as node:http can), gzip-encoded or not, and wherever
// the reads split.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SseResponseParser } from '../../bench/load/sse-response-parser.js';
import { zlibSync, type SyncZlib } from '../../src/fanout/deflate-sync.js';

interface Seen {
  id: string;
  event: string;
  data: string;
}

const WRITES = [
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
];
const BODY = WRITES.join('');

function reference(body: string): Seen[] {
  const out: Seen[] = [];
  const p = createParser({ onEvent: (e: EventSourceMessage) => out.push({ id: e.id ?? '', event: e.event ?? '', data: e.data }) });
  p.feed(body);
  return out;
}

function chunked(body: Buffer, pieces: number): Buffer {
  const parts: Buffer[] = [];
  const size = Math.ceil(body.length / pieces);
  for (let i = 0; i < body.length; i += size) parts.push(body.subarray(i, i + size));
  return chunks(parts);
}

/** Each piece as one HTTP chunk, then the last chunk. */
function chunks(pieces: Buffer[]): Buffer {
  return Buffer.concat([...pieces.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}

/** One gzip stream, each write sync-flushed (as the servers under test send it), the last with the trailer. */
function gzipPerWrite(writes: string[]): Buffer[] {
  const z = zlib.createGzip() as unknown as SyncZlib;
  return writes.map((w, i) => zlibSync(z, Buffer.from(w, 'utf8'), i === writes.length - 1 ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH));
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
const HEAD_GZIP = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n';

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

  it('decodes a gzip body: the same events wherever the reads split, each one in the read that completes its flushed write', () => {
    const gz = gzipPerWrite(WRITES);
    const wire = Buffer.concat([Buffer.from(HEAD_GZIP), chunks(gz)]);
    const whole = parse(wire, []);
    expect(whole.parser.gzip).toBe(true);
    expect(whole.seen).toEqual(expected);
    for (let cut = 1; cut < wire.length; cut += 3) expect(parse(wire, [cut]).seen).toEqual(expected);
    expect(parse(wire, Array.from({ length: wire.length - 1 }, (_, i) => i + 1)).seen).toEqual(expected);
    // write by write: once a write's chunk is read, every event it completes has been dispatched
    const seen: string[] = [];
    const parser = new SseResponseParser({ onEvent: (_id, _event, data) => seen.push(data) });
    parser.feed(HEAD_GZIP);
    for (let i = 0; i < gz.length; i++) {
      parser.feed(chunks([gz[i]!]).subarray(0, -5).toString('latin1')); // without the last chunk
      // (+ '\n': the reference holds an event ended by a CR until it sees whether an LF follows)
      expect(seen.length).toBe(reference(`${WRITES.slice(0, i + 1).join('')}\n`).length);
    }
    // plain (no chunking), as node:http ends a response it gave a Content-Length
    expect(parse(Buffer.concat([Buffer.from(HEAD_PLAIN.replace('\r\n\r\n', '\r\nContent-Encoding: gzip\r\n\r\n')), ...gz]), []).seen).toEqual(expected);
  });

  it('refuses a corrupt gzip body', () => {
    const bad = new SseResponseParser({ onEvent: () => undefined });
    // a gzip header, then a deflate block of the reserved type 3
    const body = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
    expect(bad.feed(`${HEAD_GZIP}${chunks([body]).toString('latin1')}`)).toBe(false);
    expect(bad.error).toMatch(/gzip/);
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
