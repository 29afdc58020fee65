// Turns a publish request (raw body with ?topic=, or JSON: one item or an array) into validated items.
// An array is validated whole: one bad item rejects the batch and nothing is published.
// JSON `data` may be any JSON value: a string is the event's data as is, anything else travels as its
// JSON.stringify text, so a subscriber's JSON.parse(event.data) gives the value back.
import { ERRORS, HttpError } from './errors.js';
import { checkKey, keyedUnits, type KeyedUnit } from './idempotency-keys.js';
import { isTopic, PRESENCE_TOPIC } from './topics.js';

export interface PublishItem {
  topic: string;
  event?: string;
  data: string;
}

const EVENT_NAME = /^[^\r\n\0]{1,128}$/;
/** Objects and arrays nested deeper than this are refused: JSON.stringify recurses, and a 64 KiB body can nest 32 768 deep. */
export const MAX_DATA_DEPTH = 128;
// ignoreBOM: a leading U+FEFF is part of the data, like every other character of the body
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function checkEventName(event: unknown): string | undefined {
  if (event === undefined || event === null) return undefined;
  if (typeof event !== 'string' || !EVENT_NAME.test(event)) throw new HttpError('BAD_EVENT_NAME');
  return event;
}

function nestedWithin(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, depth] = top;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > limit) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

function dataText(data: unknown, i: number): string {
  if (typeof data === 'string') return data;
  if (data === undefined) throw new HttpError('BAD_PUBLISH_ITEM', `item ${i}: "data" is required`);
  if (!nestedWithin(data, MAX_DATA_DEPTH)) throw new HttpError('BAD_PUBLISH_ITEM', `item ${i}: "data" nests objects and arrays more than ${MAX_DATA_DEPTH} deep`);
  return JSON.stringify(data);
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
export function parsePublish(
  body: Uint8Array,
  contentType: string,
  query: URLSearchParams,
  /** MAX_PUBLISH_BYTES again, for the data of all items together: JSON.stringify can write a number longer than it came (1e20 is 21 digits) */
  maxDataBytes = Infinity,
  headerKey = '',
): ParsedPublish {
  const { items, many, itemKeys } = parseItems(body, contentType, query, maxDataBytes);
  return { items, many, keys: keyedUnits(items, headerKey, itemKeys) };
}

function parseItems(
  body: Uint8Array,
  contentType: string,
  query: URLSearchParams,
  maxDataBytes: number,
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
    const payload = dataText(data, i);
    const name = checkEventName(event);
    return name === undefined ? { topic, data: payload } : { topic, event: name, data: payload };
  });
  let dataBytes = 0;
  for (const item of items) dataBytes += Buffer.byteLength(item.data);
  if (dataBytes > maxDataBytes) throw new HttpError('BODY_TOO_LARGE', `the events' data (non-string values as JSON text) is ${dataBytes} bytes, over MAX_PUBLISH_BYTES`);
  return itemKeys === undefined ? { items, many } : { items, many, itemKeys };
}
