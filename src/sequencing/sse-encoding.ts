// Pure SSE wire encoding (WHATWG HTML §9.2 "Server-sent events"): an event becomes its bytes once,
// and those bytes are what every subscriber receives. No I/O here.

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
  /** reconnection delay advised to the client (ms) */
  retry?: number;
}

const LINE_BREAK = /\r\n|\r|\n/;
const FIELD_BREAKER = /[\r\n\0]/;

export class EncodingError extends Error {}

/** A field value that would end the line early or be ignored by the parser is refused, not escaped. */
export function assertFieldValue(field: 'id' | 'event', value: string): void {
  if (FIELD_BREAKER.test(value)) throw new EncodingError(`${field} must not contain CR, LF or NUL`);
}

/** The text of one event. Data is split on CRLF, CR and LF into `data:` lines, as the spec's parser reads it. */
export function eventText(ev: SseEvent): string {
  let out = '';
  if (ev.id !== undefined) {
    assertFieldValue('id', ev.id);
    out += `id: ${ev.id}\n`;
  }
  if (ev.event !== undefined) {
    assertFieldValue('event', ev.event);
    out += `event: ${ev.event}\n`;
  }
  if (ev.retry !== undefined) out += `retry: ${retryValue(ev.retry)}\n`;
  // Fast path: most payloads are one line. The space after the colon keeps a leading space in the data.
  if (ev.data.indexOf('\n') === -1 && ev.data.indexOf('\r') === -1) {
    out += `data: ${ev.data}\n`;
  } else {
    for (const line of ev.data.split(LINE_BREAK)) out += `data: ${line}\n`;
  }
  return `${out}\n`;
}

export function encodeEvent(ev: SseEvent): Buffer {
  return Buffer.from(eventText(ev), 'utf8');
}

/** A published event (validated: its name has no CR, LF or NUL) under its id. */
export function encodePublished(id: string, item: { event?: string; data: string }): Buffer {
  return item.event === undefined ? encodeEvent({ id, data: item.data }) : encodeEvent({ id, event: item.event, data: item.data });
}

/** Room before an event encoded without its id for the `id:` line: ids are at most 128 bytes (the contract). */
const ID_LINE_ROOM = 'id: \n'.length + 128;

/**
 * A published event's bytes without its id, with room in front for the `id:` line: the encoding (all
 * of the cost for a large payload) can happen before the id is known. `withId` completes it.
 */
export function encodeUnnumbered(item: { event?: string; data: string }): Buffer {
  const text = eventText(item.event === undefined ? { data: item.data } : { event: item.event, data: item.data });
  const out = Buffer.allocUnsafe(ID_LINE_ROOM + Buffer.byteLength(text));
  out.write(text, ID_LINE_ROOM);
  return out;
}

/** Writes the `id:` line into an event from `encodeUnnumbered`: the same bytes `encodePublished` gives, without a copy. */
export function withId(unnumbered: Buffer, id: string): Buffer {
  assertFieldValue('id', id);
  const line = `id: ${id}\n`;
  const length = Buffer.byteLength(line);
  if (length > ID_LINE_ROOM) throw new EncodingError('id must be at most 128 bytes');
  const start = ID_LINE_ROOM - length;
  unnumbered.write(line, start);
  return unnumbered.subarray(start);
}

function retryValue(ms: number): number {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new EncodingError('retry must be a non-negative integer (ms)');
  return ms;
}

/** A `retry:` frame on its own: the spec applies it without dispatching an event. */
export function encodeRetry(ms: number): Buffer {
  return Buffer.from(`retry: ${retryValue(ms)}\n\n`, 'utf8');
}

/** A comment line; each line of `text` becomes its own comment so nothing can leak into a field. */
export function encodeComment(text = ''): Buffer {
  const lines = text === '' ? [''] : text.split(LINE_BREAK);
  return Buffer.from(`${lines.map((l) => `:${l}`).join('\n')}\n\n`, 'utf8');
}

export type ResetReason = 'history' | 'epoch' | 'dropped';

/**
 * Tells a client it missed events and should resynchronise. With `id` (the stream's current position)
 * the client resumes from there on its next reconnect instead of resending an id that cannot be
 * resumed; it is in the same block as the data because Firefox ignores an id in a block without data.
 * Without `id`, the client's Last-Event-ID stays put.
 */
export function encodeReset(reason: ResetReason, id?: string): Buffer {
  return encodeEvent({ id, event: 'reset', data: JSON.stringify({ reason }) });
}
