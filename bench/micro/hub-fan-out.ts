// The hub's fan-out loop (src/hub.ts) with subscribers that do nothing: what grouping, gathering and
// iterating cost per delivery before any socket write, at 1,000 and 10,000 subscribers.
import { Hub, type Subscriber } from '../../src/fanout/hub.js';
import { batchTemplate, renumbered } from './history.js';
import type { MicroTask } from './micro-task.js';

class NullSubscriber implements Subscriber {
  readonly topics: readonly string[];
  lastSeq = 0;
  bytes = 0;
  constructor(topic: string) {
    this.topics = [topic];
  }
  send(bytes: Uint8Array): void {
    this.bytes += bytes.length;
  }
}

export function hubTasks(): MicroTask[] {
  const template = batchTemplate(1, ['bench']);
  return [1_000, 10_000].map((n) => {
    // one segment for everyone, so a pass completes in the turn after deliver() (which is when it
    // starts); that one setImmediate costs a few µs per call, under 5 ns per delivery at n >= 1,000
    const hub = new Hub(n + 1, { onPass: () => undefined, onSegment: () => undefined });
    const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    for (let i = 0; i < n; i++) hub.add(new NullSubscriber('bench'));
    let seq = 0;
    return {
      group: 'hub',
      name: `Hub fan-out of a 1-event batch to ${n.toLocaleString('en-US')} subscribers`,
      ops: n,
      unit: 'delivery',
      async: true,
      fn: async () => {
        hub.deliver(renumbered(template, ++seq));
        await nextTurn();
      },
    };
  });
}
