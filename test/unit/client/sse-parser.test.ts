// The client's event-stream parser against the WHATWG rules, fed in every possible split: the same
// events come out whether the stream arrives whole, a character at a time, or cut inside a CRLF.
import fc from 'fast-check';
import { createParser } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import { createSseParser, type ParsedEvent } from '../../../src/client/sse-parser.js';

interface Run {
  events: ParsedEvent[];
  retries: number[];
  comments: string[];
  lastEventId: string;
}

function parse(chunks: string[], initialId?: string): Run {
  const run: Run = { events: [], retries: [], comments: [], lastEventId: '' };
  const p = createSseParser(
    { onEvent: (e) => run.events.push(e), onRetry: (ms) => run.retries.push(ms), onComment: (c) => run.comments.push(c) },
    initialId,
  );
  for (const c of chunks) p.feed(c);
  run.lastEventId = p.lastEventId;
  return run;
}

/** the stream cut at every position into two chunks, and one character at a time */
function splits(text: string): string[][] {
  const out = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), '', text.slice(i)]);
  return out;
}

const ev = (name: string, data: string, id: string, ownId = true): ParsedEvent => ({ name, data, id, ownId });

describe('client SSE parser', () => {
  it.each([
    ['LF', '\n'],
    ['CR', '\r'],
    ['CRLF', '\r\n'],
  ])('lines end at %s, in any split of the stream', (_name, eol) => {
    const text = ['id: 1', 'event: tick', 'data: a', 'data: b', '', 'data: c', '', ''].join(eol);
    for (const chunks of splits(text)) {
      expect(parse(chunks).events, JSON.stringify(chunks)).toEqual([ev('tick', 'a\nb', '1'), ev('message', 'c', '1', false)]);
    }
  });

  it('a CRLF split across chunks ends one line, not two (an empty line would dispatch early)', () => {
    expect(parse(['data: a\r', '\ndata: b\r\n\r\n']).events).toEqual([ev('message', 'a\nb', '', false)]);
    // an empty chunk between the CR and the LF changes nothing
    expect(parse(['data: a\r', '', '\ndata: b\r\n\r\n']).events).toEqual([ev('message', 'a\nb', '', false)]);
  });

  it('drops a byte order mark at the start of the stream only', () => {
    expect(parse(['\uFEFFdata: x\n\n']).events).toEqual([ev('message', 'x', '', false)]);
    expect(parse(['data: \uFEFFx\n\n']).events).toEqual([ev('message', '\uFEFFx', '', false)]);
  });

  it('comments go to onComment and dispatch nothing', () => {
    const run = parse([':ok\n', ':\n', 'data: x\n\n']);
    expect(run.comments).toEqual(['ok', '']);
    expect(run.events).toEqual([ev('message', 'x', '', false)]);
  });

  it('retry: only of ASCII digits', () => {
    expect(parse(['retry: 1500\n', 'retry: 1.5\n', 'retry: -1\n', 'retry: 12a\n', 'retry:\n', 'retry:250\n']).retries).toEqual([1500, 250]);
  });

  it('an id holding NUL is ignored; an empty id clears the last id; the id persists into later events', () => {
    const run = parse(['id: 7\ndata: a\n\n', 'id: x\0y\ndata: b\n\n', 'data: c\n\n', 'id\ndata: d\n\n']);
    expect(run.events).toEqual([ev('message', 'a', '7'), ev('message', 'b', '7', false), ev('message', 'c', '7', false), ev('message', 'd', '')]);
    expect(run.lastEventId).toBe('');
  });

  it('a block without data dispatches nothing but still sets the last id; an unfinished block at the end is discarded', () => {
    const run = parse(['id: 5\nevent: nothing\n\n', 'data: never finished\n'], '3');
    expect(run.events).toEqual([]);
    expect(run.lastEventId).toBe('5');
  });

  it('one space after the colon is removed, no more; a line without a colon is a field with an empty value', () => {
    expect(parse(['data:  two spaces\ndata\ndata:x\n\n']).events).toEqual([ev('message', ' two spaces\n\nx', '', false)]);
  });

  it('unknown fields are ignored; event: sets the name of that block only', () => {
    expect(parse(['foo: bar\nevent: a\ndata: 1\n\ndata: 2\n\n']).events).toEqual([ev('a', '1', '', false), ev('message', '2', '', false)]);
  });

  it('agrees with the independent eventsource-parser on any stream, in any split', () => {
    const line = fc.oneof(
      fc.constantFrom('', ':', ': ping', 'data', 'data:', 'retry: 10', 'event: e'),
      fc.tuple(fc.constantFrom('data', 'event', 'id', ':', 'x'), fc.constantFrom(':', ': ', ''), fc.string({ maxLength: 6 }).map((s) => s.replace(/[\r\n]/g, ''))).map((t) => t.join('')),
    );
    // ends with a comment line: a CR last in the input may be half a CRLF, and eventsource-parser
    // waits for the next character to know, where this parser takes the line at once
    const stream = fc
      .tuple(fc.array(line, { maxLength: 12 }), fc.constantFrom('\n', '\r', '\r\n'))
      .map(([lines, eol]) => `${lines.map((l) => l + eol).join('')}:end\n`);
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 4 }), (text, cuts) => {
        const theirs: { name: string; data: string; id: string | undefined }[] = [];
        const other = createParser({ onEvent: (e) => theirs.push({ name: e.event ?? 'message', data: e.data, id: e.id }) });
        other.feed(text);
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const chunks = [0, ...points].map((at, i, all) => text.slice(at, all[i + 1]));
        const ours = parse(chunks).events.map((e) => ({ name: e.name, data: e.data, id: e.ownId ? e.id : undefined }));
        expect(ours).toEqual(theirs);
      }),
    );
  });
});
