// The SSE encoder (src/sse-encoding.ts): the only per-event serialisation on the publish path.
import { encodeEvent } from '../../src/sequencing/sse-encoding.js';
import { payloadOf, type MicroTask } from './micro-task.js';

export function encoderTasks(): MicroTask[] {
  const oneLine = payloadOf(128);
  const multiLine = [payloadOf(32), payloadOf(32), payloadOf(32), payloadOf(29)].join('\n');
  let seq = 0;
  return [
    {
      group: 'encoder',
      name: 'encodeEvent, id + 128 B one-line data',
      ops: 1,
      unit: 'event',
      fn: () => void encodeEvent({ id: `0123456789ab-${++seq}`, data: oneLine }),
    },
    {
      group: 'encoder',
      name: 'encodeEvent, id + event name + 4-line data (128 B)',
      ops: 1,
      unit: 'event',
      fn: () => void encodeEvent({ id: `0123456789ab-${++seq}`, event: 'update', data: multiLine }),
    },
  ];
}
