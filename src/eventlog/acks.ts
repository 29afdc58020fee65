// With a durable log a publish is answered once its batch is written (DURABILITY=write) or synced
// (fsync): that is when the main thread hands the batch to the shards, so each thread answers its
// own publishes when the batch holding their last number reaches it. No message of its own, and
// concurrent publishes share the batch's write and fsync (group commit).
import { HttpError } from '../intake/errors.js';
import type { PublishItem } from '../intake/publish-request.js';
import { parseId } from '../sequencing/event-ids.js';

interface Waiter {
  seq: number;
  resolve(): void;
}

export class DeliveryAcks {
  private reachedSeq = 0;
  /** in claim order, which in one thread is sequence order */
  private waiters: Waiter[] = [];
  private head = 0;

  /** Every event up to `seq` is stored (and now delivered to this thread). */
  reach(seq: number): void {
    if (seq <= this.reachedSeq) return;
    this.reachedSeq = seq;
    while (this.head < this.waiters.length && this.waiters[this.head]!.seq <= seq) this.waiters[this.head++]!.resolve();
    if (this.head * 2 > this.waiters.length) {
      this.waiters = this.waiters.slice(this.head);
      this.head = 0;
    }
  }

  /** `ids` once the last of them is stored. */
  after(ids: string[]): string[] | Promise<string[]> {
    const seq = parseId(ids.at(-1))?.seq ?? 0;
    if (seq <= this.reachedSeq) return ids;
    return new Promise((resolve) => this.waiters.push({ seq, resolve: () => resolve(ids) }));
  }
}

/**
 * One server's publish with a durable log: refused while the log cannot be written, answered once
 * stored. Without `acks` (DURABILITY=memory) the ids are answered at once, as before.
 */
export function storedPublish(
  assign: (items: PublishItem[], receivedAt: number) => string[],
  acks: DeliveryAcks | undefined,
  logDown: () => boolean,
): (items: PublishItem[], receivedAt: number) => string[] | Promise<string[]> {
  if (acks === undefined) return assign;
  return (items, receivedAt) => {
    if (logDown()) throw new HttpError('STORAGE_UNAVAILABLE');
    return acks.after(assign(items, receivedAt));
  };
}
