// A shard's questions to the main thread (render the metrics, count presence, fetch the JWKS again)
// travel as messages; each carries a request id, and the answer settles the promise waiting for it.
import { HttpError, type ErrorCode } from '../intake/errors.js';
import type { KeyedAnswer } from './protocol.js';

export class PendingRequests {
  private readonly waiting = new Map<number, (value: never) => void>();
  private nextId = 1;

  /** Sends a request under a fresh id (via `send`) and resolves with its answer. */
  ask<T>(send: (reqId: number) => void): Promise<T> {
    const reqId = this.nextId++;
    return new Promise<T>((resolve) => {
      this.waiting.set(reqId, resolve as (value: never) => void);
      send(reqId);
    });
  }

  resolve(reqId: number, value: unknown): void {
    const resolve = this.waiting.get(reqId);
    this.waiting.delete(reqId);
    resolve?.(value as never);
  }

  get size(): number {
    return this.waiting.size;
  }
}

/** Runs a publish asked for by another thread: its ids, or its error as data (expected errors travel, never throw across). */
export async function keyedAnswer(run: () => string[] | Promise<string[]>): Promise<KeyedAnswer> {
  try {
    return { ids: await run() };
  } catch (err) {
    if (!(err instanceof HttpError)) console.error('keyed publish failed:', err);
    const e = err instanceof HttpError ? err : new HttpError('INTERNAL');
    return { code: e.code, message: e.message, ...(e.retryAfterS === undefined ? {} : { retryAfterS: e.retryAfterS }) };
  }
}

/** The asking thread's side: the ids, or the same error thrown again. */
export function answeredIds(answer: KeyedAnswer): string[] {
  if ('ids' in answer) return answer.ids;
  throw new HttpError(answer.code as ErrorCode, answer.message, answer.retryAfterS);
}
