// DURABILITY=fsync: a publish is answered once its batch is synced, which is when the main thread
// hands the batch to the shards; so each thread answers its own publishes when the batch holding
// their last number reaches it. No message of its own, and concurrent publishes share the batch's
// write and fdatasync (group commit). DURABILITY=write answers at once: an answer that waits makes
// uWS close a connection that pipelines (docs/durability.md).
import type { Durability } from '../config/config.js';
import { HttpError } from '../intake/errors.js';
import type { KeyedUnit } from '../intake/idempotency-keys.js';
import type { PublishItem } from '../intake/publish-request.js';
import { parseId } from '../sequencing/event-ids.js';

interface Waiter {
  seq: number;
  resolve(): void;
}

export class DeliveryAcks {
  /** in claim order, which in one thread is sequence order */
  private waiters: Waiter[] = [];
  private head = 0;

  /** `reachedSeq`: the newest number already in the log at start (a keyed retry may answer ids up to it) */
  constructor(private reachedSeq = 0) {}

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

  /** `ids` once the newest of them (the last, unless a keyed publish mixed in earlier ids) is stored. */
  after(ids: string[], newest = ids.at(-1)): string[] | Promise<string[]> {
    const seq = parseId(newest)?.seq ?? 0;
    if (seq <= this.reachedSeq) return ids;
    return new Promise((resolve) => this.waiters.push({ seq, resolve: () => resolve(ids) }));
  }
}

/**
 * One server's publish with a durable log: refused while the log cannot be written; answered once
 * synced with `acks` (DURABILITY=fsync), at once without. DURABILITY=memory: `assign` as it is.
 */
export function storedPublish(
  assign: (items: PublishItem[], receivedAt: number, keys?: readonly KeyedUnit[]) => string[],
  durability: Durability,
  acks: DeliveryAcks | undefined,
  logDown: () => boolean,
): (items: PublishItem[], receivedAt: number, keys?: readonly KeyedUnit[]) => string[] | Promise<string[]> {
  if (durability === 'memory') return assign;
  return (items, receivedAt, keys) => {
    if (logDown()) throw new HttpError('STORAGE_UNAVAILABLE');
    const ids = assign(items, receivedAt, keys);
    if (acks === undefined) return ids;
    // a keyed publish may answer another publish's ids, in flight and not yet stored: the newest of all
    return keys === undefined ? acks.after(ids) : acks.after(ids, newestId(ids));
  };
}

function newestId(ids: readonly string[]): string | undefined {
  let newest: string | undefined;
  let seq = -1;
  for (const id of ids) {
    const s = parseId(id)?.seq ?? 0;
    if (s > seq) [newest, seq] = [id, s];
  }
  return newest;
}
