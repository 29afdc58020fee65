// The SSE encoder byte for byte, then a round trip through an independent parser (eventsource-parser).
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatId } from '../../../src/sequencing/event-ids.js';
import {
  EncodingError,
  encodeComment,
  encodeEvent,
  encodePublished,
  encodeReset,
  encodeRetry,
  encodeUnnumbered,
  eventText,
  withId,
} from '../../../src/sequencing/sse-encoding.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Parses a whole stream with eventsource-parser and returns what it dispatched. */
function parseAll(stream: string): { events: EventSourceMessage[]; comments: string[]; retries: number[] } {
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (e) => events.push(e),
    onComment: (c) => comments.push(c),
    onRetry: (r) => retries.push(r),
  });
  parser.feed(stream);
  return { events, comments, retries };
}

describe('eventText / encodeEvent', () => {
  it('writes id, event and data in that order, ending with a blank line', () => {
    expect(eventText({ id: 'e1-1', event: 'greeting', data: 'hello' })).toBe('id: e1-1\nevent: greeting\ndata: hello\n\n');
  });

  it('omits id and event when absent', () => {
    expect(eventText({ data: 'x' })).toBe('data: x\n\n');
    expect(eventText({ id: '7', data: 'x' })).toBe('id: 7\ndata: x\n\n');
    expect(eventText({ event: 'e', data: 'x' })).toBe('event: e\ndata: x\n\n');
  });

  it('writes retry after event and before data', () => {
    expect(eventText({ id: '1', event: 'e', retry: 2500, data: 'x' })).toBe('id: 1\nevent: e\nretry: 2500\ndata: x\n\n');
  });

  it('splits data on LF into one data line each', () => {
    expect(eventText({ data: 'a\nb\nc' })).toBe('data: a\ndata: b\ndata: c\n\n');
  });

  it('splits data on a lone CR', () => {
    expect(eventText({ data: 'a\rb' })).toBe('data: a\ndata: b\n\n');
  });

  it('treats CRLF as one line break, not two', () => {
    expect(eventText({ data: 'a\r\nb' })).toBe('data: a\ndata: b\n\n');
  });

  it('handles mixed breaks, including LF CR (two breaks) and CR CR LF', () => {
    expect(eventText({ data: 'a\r\nb\nc\rd\n\re\r\r\nf' })).toBe(
      'data: a\ndata: b\ndata: c\ndata: d\ndata: \ndata: e\ndata: \ndata: f\n\n',
    );
  });

  it('writes empty data as one empty data line', () => {
    expect(eventText({ data: '' })).toBe('data: \n\n');
    expect(eventText({ id: 'x-1', data: '' })).toBe('id: x-1\ndata: \n\n');
  });

  it('keeps a leading space in the data (the single space after the colon is the one parsers strip)', () => {
    expect(eventText({ data: ' lead' })).toBe('data:  lead\n\n');
    expect(eventText({ data: '  two\n three' })).toBe('data:   two\ndata:  three\n\n');
  });

  it('turns a trailing newline into a trailing empty data line', () => {
    expect(eventText({ data: 'a\n' })).toBe('data: a\ndata: \n\n');
    expect(eventText({ data: '\n' })).toBe('data: \ndata: \n\n');
    expect(eventText({ data: 'a\r\n' })).toBe('data: a\ndata: \n\n');
  });

  it('keeps colons, NUL and non-ASCII in data unchanged', () => {
    expect(eventText({ data: 'a: b:c\0é😀' })).toBe('data: a: b:c\0é😀\n\n');
  });

  it('encodeEvent returns the UTF-8 bytes of eventText', () => {
    const ev = { id: 'e-9', event: 'ünï', data: 'é😀\nx' };
    const bytes = encodeEvent(ev);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual([...new TextEncoder().encode(eventText(ev))]);
    expect(text(bytes)).toBe('id: e-9\nevent: ünï\ndata: é😀\ndata: x\n\n');
  });

  it.each([
    ['id', { id: 'a\nb', data: 'x' }],
    ['id', { id: 'a\rb', data: 'x' }],
    ['id', { id: 'a\r\nb', data: 'x' }],
    ['id', { id: 'a\0b', data: 'x' }],
    ['event', { event: 'a\nb', data: 'x' }],
    ['event', { event: 'a\rb', data: 'x' }],
    ['event', { event: '\r\n', data: 'x' }],
    ['event', { event: 'a\0', data: 'x' }],
  ])('rejects CR, LF or NUL in %s with EncodingError (%j)', (field, ev) => {
    expect(() => eventText(ev)).toThrow(EncodingError);
    expect(() => eventText(ev)).toThrow(`${field} must not contain CR, LF or NUL`);
    expect(() => encodeEvent(ev)).toThrow(EncodingError);
  });

  it('rejects a negative or fractional retry', () => {
    expect(() => eventText({ retry: -1, data: 'x' })).toThrow(EncodingError);
    expect(() => eventText({ retry: 1.5, data: 'x' })).toThrow(EncodingError);
  });
});

describe('encodeUnnumbered / withId: encoded first, numbered after', () => {
  it('gives the very bytes encodePublished gives, for any id, name and data (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-z]{1,32}-\d{1,16}$/), fc.option(fc.stringMatching(/^[^\r\n\0]*$/), { nil: undefined }), fc.string(), (id, event, data) => {
        const item = event === undefined ? { data } : { event, data };
        expect(text(withId(encodeUnnumbered(item), id))).toBe(text(encodePublished(id, item)));
      }),
    );
  });

  it('refuses an id longer than the contract allows, or one that would break the line', () => {
    expect(() => withId(encodeUnnumbered({ data: 'x' }), 'a'.repeat(129))).toThrow(EncodingError);
    expect(() => withId(encodeUnnumbered({ data: 'x' }), 'a\nb')).toThrow(EncodingError);
    expect(text(withId(encodeUnnumbered({ data: 'x' }), 'a'.repeat(128)))).toBe(`id: ${'a'.repeat(128)}\ndata: x\n\n`);
  });
});

describe('encodeRetry', () => {
  it('is a retry field alone, followed by a blank line', () => {
    expect(text(encodeRetry(3000))).toBe('retry: 3000\n\n');
    expect(text(encodeRetry(0))).toBe('retry: 0\n\n');
  });

  it('rejects values that are not non-negative integers', () => {
    expect(() => encodeRetry(-5)).toThrow(EncodingError);
    expect(() => encodeRetry(2.5)).toThrow(EncodingError);
    expect(() => encodeRetry(Number.NaN)).toThrow(EncodingError);
    expect(() => encodeRetry(Number.POSITIVE_INFINITY)).toThrow(EncodingError);
  });

  it('is applied by a parser without dispatching an event', () => {
    const parsed = parseAll(text(encodeRetry(1234)));
    expect(parsed.retries).toEqual([1234]);
    expect(parsed.events).toEqual([]);
  });
});

describe('encodeComment', () => {
  it('is a colon line followed by a blank line', () => {
    expect(text(encodeComment('ok'))).toBe(':ok\n\n');
    expect(text(encodeComment())).toBe(':\n\n');
    expect(text(encodeComment(''))).toBe(':\n\n');
  });

  it('turns each line of multi-line text into its own comment line', () => {
    expect(text(encodeComment('a\nb'))).toBe(':a\n:b\n\n');
    expect(text(encodeComment('a\r\nb\rc'))).toBe(':a\n:b\n:c\n\n');
    expect(text(encodeComment('x\ndata: injected'))).toBe(':x\n:data: injected\n\n');
  });

  it('cannot inject a field or event: a parser sees only comments', () => {
    const parsed = parseAll(text(encodeComment('x\ndata: injected\n\nid: 9')));
    expect(parsed.events).toEqual([]);
    expect(parsed.comments).toEqual(['x', 'data: injected', '', 'id: 9']);
  });
});

describe('encodeReset', () => {
  it.each(['history', 'epoch', 'dropped'] as const)('writes event: reset with no id for %s when given none', (reason) => {
    expect(text(encodeReset(reason))).toBe(`event: reset\ndata: {"reason":"${reason}"}\n\n`);
  });

  it('parses to a reset event whose data is JSON with the reason, and no id', () => {
    const parsed = parseAll(text(encodeReset('epoch')));
    expect(parsed.events).toEqual([{ id: undefined, event: 'reset', data: '{"reason":"epoch"}' }]);
    expect(JSON.parse(parsed.events[0]!.data)).toEqual({ reason: 'epoch' });
  });

  it.each(['history', 'epoch', 'dropped'] as const)('writes the id in the same block as the data for %s (Firefox ignores an id in a block without data)', (reason) => {
    expect(text(encodeReset(reason, 'abc-7'))).toBe(`id: abc-7\nevent: reset\ndata: {"reason":"${reason}"}\n\n`);
  });

  it('parses to one reset event carrying the id, and nothing else: the next reconnect resumes from that id', () => {
    const stream = text(encodeReset('history', formatId('abc', 7))) + text(encodeEvent({ data: 'next' }));
    expect(parseAll(stream).events).toEqual([
      { id: 'abc-7', event: 'reset', data: '{"reason":"history"}' },
      { id: undefined, event: undefined, data: 'next' },
    ]);
  });

  it('refuses CR, LF and NUL in the id', () => {
    for (const bad of ['a\rb', 'a\nb', 'a\0b']) expect(() => encodeReset('history', bad)).toThrow(EncodingError);
  });
});

describe('empty data through a real parser', () => {
  // What eventsource-parser 3.x actually does, and why it matches browsers:
  // - An event with a `data:` line whose value is empty IS dispatched, with data ''. The WHATWG
  //   algorithm appends the value plus LF to the data buffer, so the buffer is "\n" (not empty) at
  //   dispatch; only then is the trailing LF removed. Browsers dispatch it too.
  // - A block with NO `data:` line (e.g. only `id:` or `event:`) is not dispatched: that is the
  //   "empty data buffer" case browsers skip. Our encoder always writes at least one `data:` line,
  //   so an empty payload is still delivered as an event.
  it('dispatches an encoded empty-data event with data ""', () => {
    const parsed = parseAll(text(encodeEvent({ id: 'e-1', event: 'ping', data: '' })));
    expect(parsed.events).toEqual([{ id: 'e-1', event: 'ping', data: '' }]);
  });

  it('does not dispatch a block without any data line', () => {
    const parsed = parseAll('id: e-1\nevent: ping\n\n');
    expect(parsed.events).toEqual([]);
  });
});

describe('round trip through eventsource-parser (property)', () => {
  // Units chosen to hit every line-break form, the field separator, the stripped space, NUL, and
  // multi-byte UTF-8 (2-, 3- and 4-byte sequences, plus U+2028 and a BOM, which SSE must not treat as breaks).
  const payloadUnit = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('\r', '\n', '\r\n', ':', ' ', '\0', 'a', 'Z', 'é', '€', '😀', '\u2028', '\uFEFF') },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  );
  const payload = fc.string({ unit: payloadUnit, maxLength: 40 });
  const eventNameUnit = fc.oneof(
    fc.constantFrom(':', ' ', 'x', 'é', '😀'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }).filter((c) => !/[\r\n\0]/.test(c)),
  );
  const eventName = fc.string({ unit: eventNameUnit, minLength: 1, maxLength: 12 });
  const item = fc.record({ data: payload, event: fc.option(eventName, { nil: undefined }) });

  it('gives back exactly one event per payload, in order, with CRLF and CR normalised to LF', () => {
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 12 }),
        fc.nat({ max: 1_000_000 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (items, firstSeq, cuts) => {
          const epoch = 'ep0ch';
          const chunks = items.map((it, i) => encodeEvent({ id: formatId(epoch, firstSeq + i), event: it.event, data: it.data }));
          const bytes = Buffer.concat(chunks);

          // Feed the stream in arbitrary byte-sized pieces (possibly mid UTF-8 sequence, mid CRLF),
          // as a network would, through a streaming decoder.
          const events: EventSourceMessage[] = [];
          const parser = createParser({ onEvent: (e) => events.push(e) });
          const decoder = new TextDecoder('utf-8', { fatal: true });
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const p of [...points, bytes.length]) {
            parser.feed(decoder.decode(bytes.subarray(from, p), { stream: true }));
            from = p;
          }
          parser.feed(decoder.decode());

          expect(events).toHaveLength(items.length);
          items.forEach((it, i) => {
            expect(events[i]).toEqual({
              id: formatId(epoch, firstSeq + i),
              event: it.event,
              data: it.data.replace(/\r\n|\r/g, '\n'),
            });
          });
        },
      ),
      { numRuns: 2500 },
    );
  });
});
