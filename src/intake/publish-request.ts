// Turns a publish request (raw body with ?topic=, or JSON: one item or an array) into validated items.
// An array is validated whole: one bad item rejects the batch and nothing is published.
import { ERRORS, HttpError } from './errors.js';
import { checkKey, keyedUnits, type KeyedUnit } from './idempotency-keys.js';
import { isTopic, PRESENCE_TOPIC } from './topics.js';

export interface PublishItem {
  topic: string;
  event?: string;
  data: string;
}

const EVENT_NAME = /^[^\r\n\0]{1,128}$/;
// ignoreBOM: a leading U+FEFF is part of the data, like every other character of the body
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkEventName(event: unknown): string | undefined {
  if (event === undefined || event === null) return undefined;
  if (typeof event !== 'string' || !EVENT_NAME.test(event)) throw new HttpError('BAD_EVENT_NAME');
  return event;
}

function decode(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new HttpError('BAD_ENCODING');
  }
}

/** `keys`: what the request's idempotency keys cover (undefined: none). */
export interface ParsedPublish {
  items: PublishItem[];
  many: boolean;
  keys: KeyedUnit[] | undefined;
}

/** `headerKey`: the Idempotency-Key header ('' when absent). */
export function parsePublish(body: Uint8Array, contentType: string, query: URLSearchParams, headerKey = ''): ParsedPublish {
  const { items, many, itemKeys } = parseItems(body, contentType, query);
  return { items, many, keys: keyedUnits(items, headerKey, itemKeys) };
}

function parseItems(
  body: Uint8Array,
  contentType: string,
  query: URLSearchParams,
): { items: PublishItem[]; many: boolean; itemKeys?: (string | undefined)[] } {
  const text = decode(body);
  if (!/^application\/json\b/i.test(contentType)) {
    const topic = query.get('topic');
    if (topic === PRESENCE_TOPIC) throw new HttpError('RESERVED_TOPIC');
    if (!isTopic(topic)) throw new HttpError('BAD_TOPIC');
    const event = checkEventName(query.get('event') ?? undefined);
    return { items: [event === undefined ? { topic, data: text } : { topic, event, data: text }], many: false };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new HttpError('BAD_JSON');
  }
  const many = Array.isArray(parsed);
  const list: unknown[] = many ? (parsed as unknown[]) : [parsed];
  if (list.length === 0) throw new HttpError('EMPTY_BATCH');
  let itemKeys: (string | undefined)[] | undefined;
  const items = list.map((raw, i): PublishItem => {
    if (typeof raw !== 'object' || raw === null) throw new HttpError('BAD_PUBLISH_ITEM', `item ${i}: not an object`);
    const { topic, data, event, idempotencyKey } = raw as Record<string, unknown>;
    if (idempotencyKey !== undefined) (itemKeys ??= [])[i] = checkKey(idempotencyKey, `item ${i}`);
    if (topic === PRESENCE_TOPIC) throw new HttpError('RESERVED_TOPIC', `item ${i}: ${ERRORS.RESERVED_TOPIC.message}`);
    if (!isTopic(topic)) throw new HttpError('BAD_TOPIC', `item ${i}: topic must be 1 to 128 characters of A-Za-z0-9_.:/-`);
    if (typeof data !== 'string') throw new HttpError('BAD_PUBLISH_ITEM', `item ${i}: "data" must be a string`);
    const name = checkEventName(event);
    return name === undefined ? { topic, data } : { topic, event: name, data };
  });
  return itemKeys === undefined ? { items, many } : { items, many, itemKeys };
}
