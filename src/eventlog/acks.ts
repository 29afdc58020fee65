// DURABILITY=fsync: a publish is answered once its batch is synced, which is when the main thread
// hands the batch to the shards; so each thread answers its own publishes when the batch holding
// their last number reaches it. No message of its own, and concurrent publishes share the batch's
// write and fdatasync (group commit). DURABILITY=write answers at once: an answer that waits makes
// uWS close a connection that pipelines (docs/durability.md).
import type { Durability } from '../config/config.js';
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
 * One server's publish with a durable log: refused while the log cannot be written; answered once
 * synced with `acks` (DURABILITY=fsync), at once without. DURABILITY=memory: `assign` as it is.
 */
export function storedPublish(
  assign: (items: PublishItem[], receivedAt: number) => string[],
  durability: Durability,
  acks: DeliveryAcks | undefined,
  logDown: () => boolean,
): (items: PublishItem[], receivedAt: number) => string[] | Promise<string[]> {
  if (durability === 'memory') return assign;
  return (items, receivedAt) => {
    if (logDown()) throw new HttpError('STORAGE_UNAVAILABLE');
    const ids = assign(items, receivedAt);
    return acks === undefined ? ids : acks.after(ids);
  };
}
