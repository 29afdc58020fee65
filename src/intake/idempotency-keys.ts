// Idempotency keys on POST /publish: the `Idempotency-Key` header covers the whole request, or each
// JSON item carries its own `idempotencyKey`. A unit is the items one key covers, with a digest of
// what they publish (topic, event, data) so a retry can be told from a different publish under the
// same key. Read and hashed here, in the thread that received the request; only keyed publishes pay.
import { createHash } from 'node:crypto';
import { HttpError } from './errors.js';
import type { PublishItem } from './publish-request.js';

/** Visible ASCII, 1 to 256 characters: fits a header and a log record as it is. */
const KEY_SHAPE = /^[\x21-\x7e]{1,256}$/;

/** Items `from` to `from + count - 1` of a request, published once under `key`. */
export interface KeyedUnit {
  key: string;
  from: number;
  count: number;
  /** digest of the items' topic, event and data */
  hash: string;
}

export function checkKey(raw: unknown, where: string): string {
  if (typeof raw !== 'string' || !KEY_SHAPE.test(raw)) throw new HttpError('BAD_IDEMPOTENCY_KEY', `${where}: an idempotency key is 1 to 256 visible ASCII characters`);
  return raw;
}

export function digest(items: readonly PublishItem[]): string {
  const h = createHash('sha256');
  for (const it of items) h.update(JSON.stringify([it.topic, it.event ?? null, it.data]));
  return h.digest('base64url');
}

/**
 * The request's units: one for the header's key, or one per item that has a key (`itemKeys[i]`).
 * Undefined when nothing is keyed, so an un-keyed publish carries nothing more.
 */
export function keyedUnits(items: readonly PublishItem[], headerKey: string, itemKeys: (string | undefined)[] | undefined): KeyedUnit[] | undefined {
  if (headerKey !== '') {
    if (itemKeys !== undefined) throw new HttpError('BAD_IDEMPOTENCY_KEY', 'use the Idempotency-Key header or per-item "idempotencyKey", not both');
    return [{ key: checkKey(headerKey, 'Idempotency-Key'), from: 0, count: items.length, hash: digest(items) }];
  }
  if (itemKeys === undefined) return undefined;
  const units: KeyedUnit[] = [];
  const seen = new Set<string>();
  itemKeys.forEach((key, i) => {
    if (key === undefined) return;
    if (seen.has(key)) throw new HttpError('BAD_IDEMPOTENCY_KEY', `item ${i}: idempotencyKey ${JSON.stringify(key)} appears twice in this request`);
    seen.add(key);
    units.push({ key, from: i, count: 1, hash: digest([items[i]!]) });
  });
  return units;
}
