// A shard's questions to the main thread (render the metrics, count presence, fetch the JWKS again)
// travel as messages; each carries a request id, and the answer settles the promise waiting for it.
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
