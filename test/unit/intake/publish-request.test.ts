import { describe, expect, it } from 'vitest';
import { HttpError, type ErrorCode } from '../../../src/intake/errors.js';
import { MAX_DATA_DEPTH, parsePublish } from '../../../src/intake/publish-request.js';
import { assertTopic, isTopic, topicsFromQuery } from '../../../src/intake/topics.js';

const JSON_TYPE = 'application/json';
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const query = (q = ''): URLSearchParams => new URLSearchParams(q);
const json = (value: unknown): Uint8Array => utf8(JSON.stringify(value));
/** `depth` arrays one inside the other, the innermost holding 1 */
const nested = (depth: number): unknown => Array.from({ length: depth }).reduce<unknown>((inner) => [inner], 1);

/** The HttpError `fn` throws; fails the test if it returns or throws something else. */
function httpError(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return err as HttpError;
  }
  return expect.unreachable('expected an HttpError');
}

function expectCode(fn: () => unknown, code: ErrorCode, status = 400): HttpError {
  const err = httpError(fn);
  expect(err.code).toBe(code);
  expect(err.status).toBe(status);
  expect(JSON.parse(err.body())).toEqual({ error: err.message, code });
  return err;
}

describe('raw body', () => {
  it('becomes one event\'s data on ?topic', () => {
    expect(parsePublish(utf8('hello'), 'text/plain', query('topic=news'))).toEqual({
      items: [{ topic: 'news', data: 'hello' }],
      many: false,
    });
  });

  it('keeps every byte of the text: newlines, CR, NUL, unicode, leading and trailing spaces', () => {
    const body = ' line 1\r\nline 2\rline 3\n\0 é😀 ';
    expect(parsePublish(utf8(body), 'text/plain; charset=utf-8', query('topic=a')).items).toEqual([{ topic: 'a', data: body }]);
  });

  it('takes the event name from ?event', () => {
    expect(parsePublish(utf8('x'), '', query('topic=a&event=update')).items).toEqual([{ topic: 'a', event: 'update', data: 'x' }]);
  });

  it('accepts an empty body as empty data', () => {
    expect(parsePublish(new Uint8Array(0), '', query('topic=a')).items).toEqual([{ topic: 'a', data: '' }]);
  });

  it('treats a JSON-looking body as raw text when the content type is not JSON', () => {
    expect(parsePublish(utf8('{"topic":"b","data":"y"}'), 'text/plain', query('topic=a')).items).toEqual([
      { topic: 'a', data: '{"topic":"b","data":"y"}' },
    ]);
  });

  it('needs a valid ?topic', () => {
    expectCode(() => parsePublish(utf8('x'), 'text/plain', query()), 'BAD_TOPIC');
    expectCode(() => parsePublish(utf8('x'), 'text/plain', query('topic=')), 'BAD_TOPIC');
    expectCode(() => parsePublish(utf8('x'), 'text/plain', query('topic=a%20b')), 'BAD_TOPIC');
  });

  it.each([
    ['LF', 'a%0Ab'],
    ['CR', 'a%0Db'],
    ['CRLF', 'a%0D%0A'],
    ['NUL', 'a%00b'],
    ['empty', ''],
    ['129 characters', 'e'.repeat(129)],
  ])('rejects an event name with %s as BAD_EVENT_NAME', (_label, encoded) => {
    expectCode(() => parsePublish(utf8('x'), 'text/plain', query(`topic=a&event=${encoded}`)), 'BAD_EVENT_NAME');
  });

  it('accepts a 128-character event name with spaces, colons and unicode', () => {
    const name = `é: ${'n'.repeat(125)}`;
    expect(parsePublish(utf8('x'), '', query(`topic=a&event=${encodeURIComponent(name)}`)).items[0]!.event).toBe(name);
  });
});

describe('JSON body', () => {
  it('one object becomes one item', () => {
    expect(parsePublish(json({ topic: 'a', data: 'x' }), JSON_TYPE, query())).toEqual({
      items: [{ topic: 'a', data: 'x' }],
      many: false,
    });
  });

  it('reads the event name, and ignores ?topic and ?event', () => {
    expect(parsePublish(json({ topic: 'a', data: 'x', event: 'e' }), 'application/json; charset=utf-8', query('topic=zzz&event=q'))).toEqual({
      items: [{ topic: 'a', event: 'e', data: 'x' }],
      many: false,
    });
  });

  it('matches the JSON content type case-insensitively', () => {
    expect(parsePublish(json({ topic: 'a', data: 'x' }), 'Application/JSON', query()).items).toEqual([{ topic: 'a', data: 'x' }]);
  });

  it('treats event null as absent', () => {
    expect(parsePublish(json({ topic: 'a', data: 'x', event: null }), JSON_TYPE, query()).items).toEqual([{ topic: 'a', data: 'x' }]);
  });

  it('keeps newlines and unicode in data', () => {
    expect(parsePublish(json({ topic: 'a', data: 'l1\r\nl2\n😀' }), JSON_TYPE, query()).items[0]!.data).toBe('l1\r\nl2\n😀');
  });

  it('an array becomes items in order, flagged many (even with one item)', () => {
    expect(
      parsePublish(
        json([
          { topic: 'a', data: '1' },
          { topic: 'b', data: '2', event: 'e' },
          { topic: 'a', data: '3' },
        ]),
        JSON_TYPE,
        query(),
      ),
    ).toEqual({
      items: [
        { topic: 'a', data: '1' },
        { topic: 'b', event: 'e', data: '2' },
        { topic: 'a', data: '3' },
      ],
      many: true,
    });
    expect(parsePublish(json([{ topic: 'a', data: '1' }]), JSON_TYPE, query())).toEqual({ items: [{ topic: 'a', data: '1' }], many: true });
  });

  it('rejects an empty array as EMPTY_BATCH', () => {
    expectCode(() => parsePublish(json([]), JSON_TYPE, query()), 'EMPTY_BATCH');
  });

  describe('an array is validated whole: one bad item rejects it and nothing is returned', () => {
    const good = { topic: 'a', data: 'ok' };
    it.each<[string, unknown, ErrorCode, string]>([
      ['a bad topic', { topic: 'bad topic', data: 'x' }, 'BAD_TOPIC', 'item 2: topic must be 1 to 128 characters of A-Za-z0-9_.:/-'],
      ['a missing topic', { data: 'x' }, 'BAD_TOPIC', 'item 2: topic must be 1 to 128 characters of A-Za-z0-9_.:/-'],
      ['a numeric topic', { topic: 7, data: 'x' }, 'BAD_TOPIC', 'item 2: topic must be 1 to 128 characters of A-Za-z0-9_.:/-'],
      ['missing data', { topic: 'a' }, 'BAD_PUBLISH_ITEM', 'item 2: "data" is required'],
      ['data nested too deep', { topic: 'a', data: nested(MAX_DATA_DEPTH + 1) }, 'BAD_PUBLISH_ITEM', `item 2: "data" nests objects and arrays more than ${MAX_DATA_DEPTH} deep`],
      ['null item', null, 'BAD_PUBLISH_ITEM', 'item 2: not an object'],
      ['string item', 'hello', 'BAD_PUBLISH_ITEM', 'item 2: not an object'],
      ['an event name with LF', { topic: 'a', data: 'x', event: 'a\nb' }, 'BAD_EVENT_NAME', 'event name must be 1 to 128 characters without CR, LF or NUL'],
      ['a non-string event', { topic: 'a', data: 'x', event: 1 }, 'BAD_EVENT_NAME', 'event name must be 1 to 128 characters without CR, LF or NUL'],
    ])('%s', (_label, bad, code, message) => {
      let result: unknown;
      const err = expectCode(() => (result = parsePublish(json([good, good, bad, good]), JSON_TYPE, query())), code);
      expect(err.message).toBe(message);
      expect(result).toBeUndefined();
    });
  });

  it('rejects a single non-object value', () => {
    for (const value of [42, 'str', true, null]) {
      expectCode(() => parsePublish(json(value), JSON_TYPE, query()), 'BAD_PUBLISH_ITEM');
    }
  });

  it.each(['', '{', '{"topic": "a", "data": "x",}', "{'topic': 'a'}", '[{"topic":"a","data":"x"}', 'undefined', 'NaN'])(
    'broken JSON %j -> BAD_JSON',
    (body) => {
      expectCode(() => parsePublish(utf8(body), JSON_TYPE, query()), 'BAD_JSON');
    },
  );

  it.each([
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['CRLF', '\r\n'],
    ['NUL', 'a\u0000b'],
  ])('rejects an event name with %s as BAD_EVENT_NAME', (_label, event) => {
    expectCode(() => parsePublish(json({ topic: 'a', data: 'x', event }), JSON_TYPE, query()), 'BAD_EVENT_NAME');
  });
});

describe('JSON data may be any JSON value', () => {
  it.each<[string, unknown, string]>([
    ['an object', { price: 101 }, '{"price":101}'],
    ['an array', [1, 'two', { three: 3 }], '[1,"two",{"three":3}]'],
    ['a number', 101.5, '101.5'],
    ['zero', 0, '0'],
    ['true', true, 'true'],
    ['false', false, 'false'],
    ['null', null, 'null'],
    ['an empty object', {}, '{}'],
    ['an object holding newlines in a string', { text: 'a\nb\r\nc' }, '{"text":"a\\nb\\r\\nc"}'],
  ])('%s travels as its JSON text, and JSON.parse gives it back', (_label, data, text) => {
    const { items } = parsePublish(json({ topic: 'a', data }), JSON_TYPE, query());
    expect(items).toEqual([{ topic: 'a', data: text }]);
    expect(JSON.parse(items[0]!.data)).toEqual(data);
  });

  it('a string stays as is, not quoted again', () => {
    expect(parsePublish(json({ topic: 'a', data: '{"price":101}' }), JSON_TYPE, query()).items[0]!.data).toBe('{"price":101}');
  });

  it('re-serialised JSON has no line break, so it is one data: line on the wire', () => {
    const body = utf8('{"topic": "a", "data": {\n  "price": 101,\r\n  "tags": [ "x" ]\n}}');
    expect(parsePublish(body, JSON_TYPE, query()).items[0]!.data).toBe('{"price":101,"tags":["x"]}');
  });

  it('a batch mixes string and non-string data, in order, with event names', () => {
    const batch = [
      { topic: 'a', data: 'plain' },
      { topic: 'b', data: { price: 101 }, event: 'tick' },
      { topic: 'a', data: [1, 2] },
      { topic: 'a', data: null },
    ];
    expect(parsePublish(json(batch), JSON_TYPE, query())).toEqual({
      items: [
        { topic: 'a', data: 'plain' },
        { topic: 'b', event: 'tick', data: '{"price":101}' },
        { topic: 'a', data: '[1,2]' },
        { topic: 'a', data: 'null' },
      ],
      many: true,
    });
  });

  it(`accepts data nested ${MAX_DATA_DEPTH} deep`, () => {
    const data = nested(MAX_DATA_DEPTH);
    expect(parsePublish(json({ topic: 'a', data }), JSON_TYPE, query()).items[0]!.data).toBe(JSON.stringify(data));
  });

  it('refuses data nested deeper than JSON.stringify can recurse with a 400, not a crash', () => {
    const depth = 100_000;
    const body = utf8(`{"topic":"a","data":${'['.repeat(depth)}${']'.repeat(depth)}}`);
    expectCode(() => parsePublish(body, JSON_TYPE, query()), 'BAD_PUBLISH_ITEM');
  });

  it('an object in a non-JSON body stays raw text', () => {
    expect(parsePublish(utf8('{"price":101}'), 'text/plain', query('topic=a')).items[0]!.data).toBe('{"price":101}');
  });
});

describe('the data of all items together is held to MAX_PUBLISH_BYTES', () => {
  it('passes when the data fits, counting UTF-8 bytes', () => {
    const body = json([{ topic: 'a', data: 'é'.repeat(5) }, { topic: 'a', data: { n: 1 } }]);
    // 10 bytes of é, 7 of {"n":1}
    expect(parsePublish(body, JSON_TYPE, query(), 17).items).toHaveLength(2);
    expectCode(() => parsePublish(body, JSON_TYPE, query(), 16), 'BODY_TOO_LARGE', 413);
  });

  it('refuses numbers that JSON.stringify writes longer than the body held them (1e20 is 21 digits)', () => {
    const body = utf8(`{"topic":"a","data":[${Array.from({ length: 100 }, () => '1e20').join(',')}]}`);
    const err = expectCode(() => parsePublish(body, JSON_TYPE, query(), body.length), 'BODY_TOO_LARGE', 413);
    expect(err.message).toBe(`the events' data (non-string values as JSON text) is ${100 * 22 + 1} bytes, over MAX_PUBLISH_BYTES`);
  });
});

describe('invalid UTF-8 -> BAD_ENCODING', () => {
  it.each([
    ['a lone continuation byte', [0x61, 0x80]],
    ['an invalid byte', [0xff]],
    ['a truncated sequence', [0x61, 0xc3]],
    ['an overlong encoding of /', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a code point past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('%s, raw or JSON', (_label, bytes) => {
    const body = Uint8Array.from(bytes);
    expectCode(() => parsePublish(body, 'text/plain', query('topic=a')), 'BAD_ENCODING');
    expectCode(() => parsePublish(body, JSON_TYPE, query()), 'BAD_ENCODING');
  });

  it('is checked before the topic (any bad body is BAD_ENCODING)', () => {
    expectCode(() => parsePublish(Uint8Array.from([0xff]), 'text/plain', query()), 'BAD_ENCODING');
  });

  it('a string with invalid UTF-8 inside valid JSON quotes is still rejected', () => {
    const body = Uint8Array.from([...utf8('{"topic":"a","data":"'), 0xff, ...utf8('"}')]);
    expectCode(() => parsePublish(body, JSON_TYPE, query()), 'BAD_ENCODING');
  });
});

describe('topic names', () => {
  const VALID = ['a', 'A', '0', 'news', 'a.b', 'a:b', 'a/b', 'a_b', 'a-b', 'Z9_.:/-', 'x'.repeat(128), '...', '/', '-'];
  const INVALID: Array<[string, unknown]> = [
    ['empty', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a leading space', ' a'],
    ['a tab', 'a\tb'],
    ['a newline', 'a\n'],
    ['a comma', 'a,b'],
    ['a star', 'a*'],
    ['a question mark', 'a?'],
    ['a percent sign', 'a%20b'],
    ['an accented letter', 'café'],
    ['CJK', '日本'],
    ['an emoji', '😀'],
    ['a non-ASCII digit', '٣'],
    ['a number, not a string', 5],
    ['undefined', undefined],
    ['null', null],
  ];

  it.each(VALID)('%j is valid', (topic) => {
    expect(isTopic(topic)).toBe(true);
    expect(assertTopic(topic)).toBe(topic);
    expect(parsePublish(utf8('x'), 'text/plain', query(`topic=${encodeURIComponent(topic)}`)).items[0]!.topic).toBe(topic);
    expect(parsePublish(json({ topic, data: 'x' }), JSON_TYPE, query()).items[0]!.topic).toBe(topic);
  });

  it.each(INVALID)('%s is invalid', (_label, topic) => {
    expect(isTopic(topic)).toBe(false);
    expectCode(() => assertTopic(topic), 'BAD_TOPIC');
    expectCode(() => parsePublish(json({ topic, data: 'x' }), JSON_TYPE, query()), 'BAD_TOPIC');
    if (typeof topic === 'string') {
      expectCode(() => parsePublish(utf8('x'), 'text/plain', query(`topic=${encodeURIComponent(topic)}`)), 'BAD_TOPIC');
    }
  });

  it('topicsFromQuery reads repeated topic= and comma-separated topics=, deduplicated, in order', () => {
    expect(topicsFromQuery(query('topic=b&topics=a,c&topic=a'))).toEqual(['b', 'a', 'c']);
  });

  it('topicsFromQuery rejects no topic, a bad topic, an empty list entry, and more than 64', () => {
    expectCode(() => topicsFromQuery(query()), 'MISSING_TOPIC');
    expectCode(() => topicsFromQuery(query('topic=a%20b')), 'BAD_TOPIC');
    expectCode(() => topicsFromQuery(query('topics=a,,b')), 'BAD_TOPIC');
    const many = Array.from({ length: 65 }, (_, i) => `t${i}`).join(',');
    expectCode(() => topicsFromQuery(query(`topics=${many}`)), 'TOO_MANY_TOPICS');
    expect(topicsFromQuery(query(`topics=${many.split(',').slice(0, 64).join(',')}`))).toHaveLength(64);
  });
});
