// A response answered after its handler returned (a promise settled, a timer fired). uWS rules:
// onAborted is attached before the handler returns, and every later write is corked and skipped once
// the client went away. What a later write throws ends here (logged, answered 500 or the connection
// closed): thrown from a promise callback it would be an unhandled rejection, which ends the process.
import type { HttpResponse } from 'uWebSockets.js';
import { HttpError } from '../intake/errors.js';
import type { Header } from './cors.js';
import { sendError } from './responses.js';

export class DeferredResponse {
  private gone = false;
  private onGone: (() => void) | undefined;

  constructor(
    private readonly res: HttpResponse,
    /** sent with the error answers (CORS, so a browser page can read why) */
    private readonly headers: readonly Header[] = [],
  ) {
    res.onAborted(() => {
      this.gone = true;
      this.onGone?.();
    });
  }

  /** The client went away: nothing will be written. */
  get aborted(): boolean {
    return this.gone;
  }

  /** The client went away: run `fn` then (stop waiting for what the answer needed). */
  whenAborted(fn: () => void): void {
    this.onGone = fn;
  }

  /** Runs `write` corked, unless the client went away. */
  write(write: () => void): void {
    if (this.gone) return;
    try {
      this.res.cork(write);
    } catch (err) {
      this.failed(err);
    }
  }

  /** Writes `answer(value)` once `promise` fulfils, `fail(reason)` (an error answer) once it rejects. */
  settle<T>(promise: PromiseLike<T>, answer: (value: T) => void, fail: (err: unknown) => void = (err) => sendError(this.res, err, this.headers)): void {
    promise.then(
      (value) => this.write(() => answer(value)),
      (err: unknown) => this.write(() => fail(err)),
    );
  }

  private failed(err: unknown): void {
    console.error('internal error:', err);
    try {
      this.res.cork(() => sendError(this.res, new HttpError('INTERNAL'), this.headers, true));
    } catch {
      try {
        this.res.close(); // the answer had begun: a cut-off response, not a wrong one
      } catch {
        // already answered or closed
      }
    }
  }
}
