// One stream read with fetch(): every event whatever its name, resumed with Last-Event-ID on every
// reconnect, the server's retry: honoured, back-off after failures, and a fresh token before exp.
import { ClientError, nextStep, renewDelayMs, type Outcome } from './reconnect.js';
import { createSseParser, type ParsedEvent } from './sse-parser.js';

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface ConnectionOptions {
  /** the full /events URL, topics included */
  url: string;
  lastEventId: string | undefined;
  getToken: (() => Promise<string | undefined> | string | undefined) | undefined;
  withCredentials: boolean;
  /** ms before the first retry: arrives (EventSource's default is about 3 s) */
  retryMs: number;
  onEvent(event: ParsedEvent): void;
  onState(state: StreamState): void;
  /** the stream stopped for good (401, 403, not an event stream): no retry */
  onError(error: ClientError): void;
}

export class Connection {
  private lastId: string | undefined;
  private retryMs: number;
  private failures = 0;
  private everOpened = false;
  private closed = false;
  private ctrl: AbortController | undefined;
  /** the fresh token a renewal fetched while the old stream still ran */
  private renewed: string | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: ConnectionOptions) {
    this.lastId = opts.lastEventId;
    this.retryMs = opts.retryMs;
    void this.run();
  }

  get lastEventId(): string | undefined {
    return this.lastId;
  }

  close(): void {
    this.closed = true;
    this.ctrl?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      this.opts.onState(this.everOpened ? 'reconnecting' : 'connecting');
      const outcome = await this.attempt();
      if (this.closed) return;
      this.failures = outcome.kind === 'network' || outcome.kind === 'status' ? this.failures + 1 : 0;
      const step = nextStep(outcome, { retryMs: this.retryMs, failures: this.failures, random: Math.random() });
      if (!step.retry) {
        this.closed = true;
        this.opts.onState('closed');
        this.opts.onError(step.error);
        return;
      }
      if (step.delayMs > 0) {
        this.opts.onState(this.everOpened ? 'reconnecting' : 'connecting');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, step.delayMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** One connection, read to its end. */
  private async attempt(): Promise<Outcome> {
    const ctrl = new AbortController();
    this.ctrl = ctrl;
    let renewing = false;
    let renewTimer: ReturnType<typeof setTimeout> | undefined;
    try {
      const token = this.renewed ?? (this.opts.getToken === undefined ? undefined : await this.opts.getToken());
      this.renewed = undefined;
      if (this.closed) return { kind: 'ended' };
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (this.lastId !== undefined) headers['Last-Event-ID'] = this.lastId;
      if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
      const res = await fetch(this.opts.url, {
        headers,
        signal: ctrl.signal,
        cache: 'no-store',
        credentials: this.opts.withCredentials ? 'include' : 'same-origin',
      });
      const type = res.headers.get('content-type') ?? '';
      if (res.status !== 200 || !type.startsWith('text/event-stream') || res.body === null) {
        return { kind: 'status', status: res.status, contentType: type, body: await res.text().catch(() => '') };
      }
      // Renewal fetches the next token while this stream runs, then ends it and opens the next from
      // the last id seen: the server replays what was published in between, so nothing is missed
      // and nothing comes twice. If the token cannot be had, this stream runs on until the server
      // ends it at exp, and the client comes back as after any end.
      const renewIn = renewDelayMs(token, Date.now());
      const getToken = this.opts.getToken;
      if (renewIn !== undefined && getToken !== undefined) {
        renewTimer = setTimeout(() => {
          Promise.resolve(getToken()).then(
            (fresh) => {
              if (ctrl.signal.aborted) return;
              this.renewed = fresh;
              renewing = true;
              ctrl.abort();
            },
            () => undefined,
          );
        }, renewIn);
      }
      this.everOpened = true;
      this.failures = 0;
      this.opts.onState('open');
      await this.read(res.body, ctrl);
      return renewing ? { kind: 'renew' } : { kind: 'ended' };
    } catch {
      return renewing ? { kind: 'renew' } : { kind: 'network' };
    } finally {
      clearTimeout(renewTimer);
      ctrl.abort(); // releases the connection however the attempt ended
    }
  }

  private async read(body: ReadableStream<Uint8Array>, ctrl: AbortController): Promise<void> {
    const parser = createSseParser(
      {
        onEvent: (e) => {
          if (ctrl.signal.aborted) return; // a renewal's or close's cut: the next stream resumes after the last event delivered
          this.lastId = e.id === '' ? undefined : e.id;
          this.opts.onEvent(e);
        },
        onRetry: (ms) => (this.retryMs = ms),
      },
      this.lastId ?? '',
    );
    const reader = body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      parser.feed(decoder.decode(value, { stream: true }));
    }
  }
}
