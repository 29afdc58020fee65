// One server, no Redis: consecutive sequence numbers in this process's epoch, handed straight to
// the batcher. The main thread is the only caller, so a plain counter is the global order.
import type { PublishItem } from '../intake/publish-request.js';
import type { Batcher } from './batcher.js';
import type { EventLog } from './event-log.js';

export class LocalSequencer implements EventLog {
  private seq = 0;

  constructor(private readonly batcher: Batcher) {}

  /** Synchronous: the ids are known before this returns. */
  assign(items: readonly PublishItem[]): string[] {
    return items.map((item) => this.batcher.append(this.batcher.epoch, ++this.seq, item));
  }

  publish(items: readonly PublishItem[]): Promise<string[]> {
    return Promise.resolve(this.assign(items));
  }
}
