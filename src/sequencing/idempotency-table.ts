// One server: the idempotency keys of the last IDEMPOTENCY_WINDOW, held by the main thread only.
// Every keyed publish is decided here, whichever thread received it (a shard asks: one message each
// way), so two retries in flight at once meet in one thread, in order, and the second finds the
// first's ids; un-keyed publishes never come here. The key goes into the durable log with the event
// that completes its publish (the batch record's `k`), and recovery brings it back.
import { HttpError } from '../intake/errors.js';
import type { KeyedUnit } from '../intake/idempotency-keys.js';
import type { PublishItem } from '../intake/publish-request.js';
import type { KeyMark } from './batch-layout.js';

/** A key as remembered: the digest of what it published, its ids, and when (ms since the epoch). */
export interface KeyRecord {
  key: string;
  hash: string;
  ids: string[];
  at: number;
}

export class IdempotencyTable {
  /** insertion order is time order: the oldest are found first when trimming */
  private readonly entries = new Map<string, KeyRecord>();
  /** keys forgotten before their window ended, to stay under the cap */
  evicted = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** The ids a key answered within the window; undefined for a key not seen; 409 for a different body. */
  find(key: string, hash: string, now: number): string[] | undefined {
    const e = this.entries.get(key);
    if (e === undefined || e.at <= now - this.windowMs) return undefined;
    if (e.hash !== hash) throw new HttpError('IDEMPOTENCY_KEY_REUSED', `idempotency key ${JSON.stringify(key)} was used within IDEMPOTENCY_WINDOW for a different publish (topic, event or data)`);
    return e.ids;
  }

  remember(record: KeyRecord, now = record.at): void {
    this.entries.delete(record.key); // an expired one comes back at the end, in time order
    this.entries.set(record.key, record);
    for (const [key, e] of this.entries) {
      const over = this.entries.size > this.maxKeys;
      if (!over && e.at > now - this.windowMs) return;
      if (over && this.evicted++ === 0) console.error(`idempotency keys: IDEMPOTENCY_MAX_KEYS (${this.maxKeys}) reached, the oldest keys are forgotten before IDEMPOTENCY_WINDOW ends (a retry of one publishes again)`);
      this.entries.delete(key);
    }
  }
}

/**
 * A keyed publish: units whose key is known answer their first ids, the rest are numbered together
 * by `assign` (consecutive, in request order) with a mark per new key for the log. Every unit is
 * checked before anything is numbered: a 409 publishes nothing.
 */
export function publishKeyed(
  table: IdempotencyTable,
  items: readonly PublishItem[],
  units: readonly KeyedUnit[],
  assign: (items: PublishItem[], marks: KeyMark[]) => string[],
  now = Date.now(),
): string[] {
  const found = units.map((u) => table.find(u.key, u.hash, now));
  const ids = new Array<string>(items.length);
  units.forEach((u, j) => found[j]?.forEach((id, k) => (ids[u.from + k] = id)));
  const fresh: number[] = [];
  for (let i = 0; i < items.length; i++) if (ids[i] === undefined) fresh.push(i);
  if (fresh.length === 0) return ids;
  const place = new Map(fresh.map((i, p) => [i, p]));
  const created = units.filter((_, j) => found[j] === undefined);
  const marks = created.map((u): KeyMark => [place.get(u.from + u.count - 1)!, u.count, u.key, u.hash]);
  const freshIds = assign(
    fresh.map((i) => items[i]!),
    marks,
  );
  fresh.forEach((i, p) => (ids[i] = freshIds[p]!));
  for (const u of created) table.remember({ key: u.key, hash: u.hash, ids: ids.slice(u.from, u.from + u.count), at: now });
  return ids;
}
