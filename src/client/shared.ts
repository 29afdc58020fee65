// One stream per browser for every tab of an origin that wants the same topics. The tab holding a
// Web Lock named after the server's origin and the sorted topics reads the stream and posts each
// event on a BroadcastChannel of the same name; the other tabs wait for the lock and take the
// events from the channel. A tab that closes releases the lock at once (a tab that freezes gives it
// up), and the next tab in the lock's queue opens the stream from the last id it saw on the channel:
// the server replays what came after, and ids already delivered in this tab are dropped.
import { Connection, type ConnectionOptions, type StreamState } from './connection.js';
import { ClientError } from './reconnect.js';
import type { ParsedEvent } from './sse-parser.js';

/** what the tab holding the stream posts on the channel */
export type ChannelMessage =
  | { type: 'event'; event: ParsedEvent }
  | { type: 'state'; state: StreamState; lastEventId: string | undefined }
  /** a tab that just joined asks for the state */
  | { type: 'hello' }
  /** the stream stopped for good (401, 403): every tab stops */
  | { type: 'error'; message: string; status: number | undefined; code: string | undefined };

/** ids delivered lately in this tab: a takeover's replay overlaps at most the events in flight */
const RECENT_IDS = 1024;

export type Role = 'leader' | 'follower';

export interface SharedOptions extends ConnectionOptions {
  /** the lock's and the channel's name */
  name: string;
  onRole?(role: Role): void;
}

export function canShare(): boolean {
  return typeof BroadcastChannel === 'function' && typeof navigator !== 'undefined' && navigator.locks !== undefined;
}

export class SharedStream {
  private readonly channel: BroadcastChannel;
  private queued: AbortController | undefined;
  private readonly recent = new Set<string>();
  private lastId: string | undefined;
  private state: StreamState = 'connecting';
  private connection: Connection | undefined;
  /** resolving it releases the lock */
  private release: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: SharedOptions) {
    this.lastId = opts.lastEventId;
    this.channel = new BroadcastChannel(opts.name);
    this.channel.onmessage = (m: MessageEvent<ChannelMessage>) => this.heard(m.data);
    this.channel.postMessage({ type: 'hello' } satisfies ChannelMessage);
    opts.onRole?.('follower');
    this.queue();
    // A frozen tab (or one put in the back/forward cache) runs no code: it must neither hold the
    // stream nor be next in line for it.
    for (const [target, type, fn] of this.lifecycle) target.addEventListener(type, fn);
  }

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [target, type, fn] of this.lifecycle) target.removeEventListener(type, fn);
    this.stepDown();
    this.channel.close();
  }

  /** freeze and resume fire on the document, pagehide and pageshow on the window */
  private readonly lifecycle: [EventTarget, string, () => void][] = [
    [document, 'freeze', () => this.stepDown()],
    [window, 'pagehide', () => this.stepDown()],
    [document, 'resume', () => this.queue()],
    [window, 'pageshow', () => this.queue()],
  ];

  private queue(): void {
    if (this.closed || this.queued !== undefined) return;
    const queued = new AbortController();
    this.queued = queued;
    navigator.locks
      .request(this.opts.name, { signal: queued.signal }, () => this.lead())
      .catch(() => undefined); // aborted: this tab left the queue
  }

  /** Runs while this tab holds the lock: the stream, from the last id this tab saw. */
  private lead(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.opts.onRole?.('leader');
    this.connection = new Connection({
      ...this.opts,
      lastEventId: this.lastId,
      onEvent: (event) => {
        this.channel.postMessage({ type: 'event', event } satisfies ChannelMessage); // first: if this tab dies now, the others have it
        this.deliver(event);
      },
      onError: (error) => {
        this.channel.postMessage({ type: 'error', message: error.message, status: error.status, code: error.code } satisfies ChannelMessage);
        this.opts.onError(error);
        this.close();
      },
      onState: (state) => {
        this.channel.postMessage({ type: 'state', state, lastEventId: this.lastId } satisfies ChannelMessage);
        this.setState(state);
      },
    });
    return new Promise<void>((resolve) => (this.release = resolve));
  }

  /** Leaves the stream and the lock's queue. */
  private stepDown(): void {
    this.queued?.abort();
    this.queued = undefined;
    this.connection?.close();
    this.connection = undefined;
    this.release?.();
    this.release = undefined;
    if (!this.closed) this.opts.onRole?.('follower');
  }

  private heard(m: ChannelMessage): void {
    if (m.type === 'hello') {
      if (this.connection !== undefined) this.channel.postMessage({ type: 'state', state: this.state, lastEventId: this.lastId } satisfies ChannelMessage);
    } else if (this.connection === undefined) {
      if (m.type === 'event') this.deliver(m.event);
      else if (m.type === 'error') {
        this.opts.onError(new ClientError(m.message, m.status, m.code));
        this.close();
      } else {
        if (this.lastId === undefined) this.lastId = m.lastEventId; // a tab that joined late resumes from where the stream is
        this.setState(m.state);
      }
    }
  }

  private deliver(event: ParsedEvent): void {
    if (event.ownId) {
      if (this.recent.has(event.id)) return;
      this.recent.add(event.id);
      if (this.recent.size > RECENT_IDS) this.recent.delete(this.recent.values().next().value!);
    }
    this.lastId = event.id === '' ? undefined : event.id;
    this.opts.onEvent(event);
  }

  private setState(state: StreamState): void {
    this.state = state;
    this.opts.onState(state);
  }
}
