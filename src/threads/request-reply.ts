// A shard's questions to the main thread (sequence these events, render the metrics) travel as
// messages; each carries a request id, and the answer settles the promise waiting for it.
export class PendingRequests {
  private readonly waiting = new Map<number, { resolve: (value: never) => void; reject: (err: unknown) => void }>();
  private nextId = 1;

  /** Sends a request under a fresh id (via `send`) and resolves with its answer. */
  ask<T>(send: (reqId: number) => void): Promise<T> {
    const reqId = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(reqId, { resolve: resolve as (value: never) => void, reject });
      send(reqId);
    });
  }

  resolve(reqId: number, value: unknown): void {
    this.take(reqId)?.resolve(value as never);
  }

  reject(reqId: number, err: unknown): void {
    this.take(reqId)?.reject(err);
  }

  get size(): number {
    return this.waiting.size;
  }

  private take(reqId: number): { resolve: (value: never) => void; reject: (err: unknown) => void } | undefined {
    const w = this.waiting.get(reqId);
    this.waiting.delete(reqId);
    return w;
  }
}
