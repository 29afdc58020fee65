// History.topicSummary: GET /topics/{topic}'s lastId and the event names the console listens to.
import { describe, expect, it } from 'vitest';
import { History } from '../../../src/fanout/history.js';
import { BatchBuilder, batchFromShared } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodePublished } from '../../../src/sequencing/sse-encoding.js';

function append(h: History, firstSeq: number, items: Array<{ topic: string; event?: string }>): void {
  const b = new BatchBuilder();
  items.forEach((it, i) => b.add(firstSeq + i, it.topic, encodePublished(formatId('e', firstSeq + i), { event: it.event, data: 'event: fake\ndata' })));
  h.append(batchFromShared(b.seal('e')));
}

describe('History.topicSummary', () => {
  it('gives the newest id on the topic and the names it carried, newest first', () => {
    const h = new History(100, 'e');
    append(h, 1, [{ topic: 'a' }, { topic: 'b', event: 'other' }, { topic: 'a', event: 'x y' }]);
    append(h, 4, [{ topic: 'b' }]);
    expect(h.topicSummary('a')).toEqual({ lastId: 'e-3', events: ['x y', 'message'] });
    expect(h.topicSummary('b')).toEqual({ lastId: 'e-4', events: ['message', 'other'] });
    expect(h.topicSummary('none')).toEqual({ lastId: null, events: [] });
  });

  it('only what is still retained counts', () => {
    const h = new History(2, 'e');
    append(h, 1, [{ topic: 'a', event: 'old' }, { topic: 'b' }, { topic: 'b' }]);
    expect(h.topicSummary('a')).toEqual({ lastId: null, events: [] });
  });
});
