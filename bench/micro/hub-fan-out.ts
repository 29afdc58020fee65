// The hub's fan-out loop (src/hub.ts) with subscribers that do nothing: what grouping, gathering and
// iterating cost per delivery before any socket write, at 1,000 and 10,000 subscribers.
import { Hub, type Subscriber } from '../../src/hub.js';
import { batchTemplate, renumbered } from './history.js';
import type { MicroTask } from './micro-task.js';

class NullSubscriber implements Subscriber {
  readonly topics: ReadonlySet<string>;
  lastSeq = 0;
  bytes = 0;
  constructor(topic: string) {
    this.topics = new Set([topic]);
  }
  send(bytes: Uint8Array): void {
    this.bytes += bytes.length;
  }
}

export function hubTasks(): MicroTask[] {
  const template = batchTemplate(1, ['bench']);
  return [1_000, 10_000].map((n) => {
    // one segment for everyone, so a pass completes inside the call
    const hub = new Hub(n + 1, { onPass: () => undefined, onSegment: () => undefined });
    for (let i = 0; i < n; i++) hub.add(new NullSubscriber('bench'));
    let seq = 0;
    return {
      group: 'hub',
      name: `Hub fan-out of a 1-event batch to ${n.toLocaleString('en-US')} subscribers`,
      ops: n,
      unit: 'delivery',
      fn: () => hub.deliver(renumbered(template, ++seq)),
    };
  });
}
