// The WHATWG event-stream parser (HTML, "Server-sent events", interpreting an event stream): lines
// end at CRLF, CR or LF, even when a CRLF is split across chunks; a leading BOM is dropped; `:`
// lines are comments; `retry:` of ASCII digits only; an `id:` holding NUL is ignored; a block
// without `data:` dispatches nothing; an unfinished block at the end of the stream is discarded.
// Pure: fed decoded text, it calls back; the client and the console both read streams through it.

export interface ParsedEvent {
  /** the `event:` field, or "message" */
  name: string;
  /** the `data:` lines joined with LF */
  data: string;
  /** the stream's last event id at dispatch (as EventSource's lastEventId: kept from earlier blocks) */
  id: string;
  /** whether this block carried its own `id:` field */
  ownId: boolean;
}

export interface ParserCallbacks {
  onEvent(event: ParsedEvent): void;
  /** a valid `retry:` field, in ms */
  onRetry?(ms: number): void;
  onComment?(text: string): void;
}

export interface SseParser {
  /** the next decoded piece of the stream (any split, even inside a CRLF) */
  feed(chunk: string): void;
  /** the last event id so far (updated by an `id:` field when its block ends) */
  readonly lastEventId: string;
}

const LINE_END = /\r\n|\r|\n/g;

export function createSseParser(cb: ParserCallbacks, initialId = ''): SseParser {
  let buf = '';
  let started = false;
  let sawCR = false; // the previous chunk ended in CR: an LF first in this one ends no new line
  let data: string[] = [];
  let name = '';
  let idBuffer = initialId;
  let lastEventId = initialId;
  let ownId = false;

  function line(l: string): void {
    if (l === '') {
      lastEventId = idBuffer;
      if (data.length > 0) cb.onEvent({ name: name === '' ? 'message' : name, data: data.join('\n'), id: lastEventId, ownId });
      data = [];
      name = '';
      ownId = false;
      return;
    }
    if (l.charCodeAt(0) === 0x3a) {
      cb.onComment?.(l.slice(1));
      return;
    }
    const colon = l.indexOf(':');
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
    else if (field === 'id') {
      if (!value.includes('\0')) {
        idBuffer = value;
        ownId = true;
      }
    } else if (field === 'retry') {
      if (/^[0-9]+$/.test(value)) cb.onRetry?.(Number(value));
    }
  }

  return {
    feed(chunk: string): void {
      if (chunk === '') return;
      if (!started) {
        started = true;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      if (sawCR && chunk.charCodeAt(0) === 0x0a) chunk = chunk.slice(1);
      sawCR = false;
      buf += chunk;
      LINE_END.lastIndex = 0;
      let start = 0;
      for (let m = LINE_END.exec(buf); m !== null; m = LINE_END.exec(buf)) {
        if (m[0] === '\r' && LINE_END.lastIndex === buf.length) sawCR = true;
        line(buf.slice(start, m.index));
        start = LINE_END.lastIndex;
      }
      buf = buf.slice(start);
    },
    get lastEventId() {
      return lastEventId;
    },
  };
}
