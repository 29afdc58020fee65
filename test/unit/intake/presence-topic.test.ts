// $presence: subscribable by name, never publishable.
import { describe, expect, it } from 'vitest';
import { parsePublish } from '../../../src/intake/publish-request.js';
import { compileTopicPatterns, PRESENCE_TOPIC, topicsFromQuery } from '../../../src/intake/topics.js';

const body = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('$presence', () => {
  it('may be subscribed to, alone or with other topics; no other $ name may', () => {
    expect(topicsFromQuery(new URLSearchParams('topic=$presence&topic=a'))).toEqual([PRESENCE_TOPIC, 'a']);
    expect(() => topicsFromQuery(new URLSearchParams('topic=$presences'))).toThrow(expect.objectContaining({ code: 'BAD_TOPIC' }));
  });
  it('may not be published to, raw or in a JSON batch (RESERVED_TOPIC, nothing published)', () => {
    expect(() => parsePublish(body('x'), 'text/plain', new URLSearchParams('topic=$presence'))).toThrow(expect.objectContaining({ code: 'RESERVED_TOPIC', status: 400 }));
    const batch = JSON.stringify([{ topic: 'a', data: 'x' }, { topic: '$presence', data: 'y' }]);
    expect(() => parsePublish(body(batch), 'application/json', new URLSearchParams())).toThrow(expect.objectContaining({ code: 'RESERVED_TOPIC' }));
  });
  it('a token pattern covers it literally or with *', () => {
    expect(compileTopicPatterns(['$presence'])(PRESENCE_TOPIC)).toBe(true);
    expect(compileTopicPatterns(['*'])(PRESENCE_TOPIC)).toBe(true);
    expect(compileTopicPatterns(['news.*'])(PRESENCE_TOPIC)).toBe(false);
  });
});
