// Every message between the main thread (acceptor + sequencer) and the shard workers, in one place.
import type { Config } from './config.js';
import type { SharedBatch } from './event-batch.js';
import type { PublishItem } from './publish-request.js';

/** Handed to a worker at start (workerData). */
export interface ShardInit {
  index: number;
  config: Config;
  counters: SharedArrayBuffer;
  shardRows: number;
  epoch: string;
  /** the retained history, so a replacement shard can serve resumes at once */
  history: SharedBatch[];
}

export interface PublishRequest {
  reqId: number;
  items: PublishItem[];
  receivedAt: number;
}

export type PublishResult = { reqId: number; ids: string[] } | { reqId: number; code: string; message: string };

export type ToShard =
  | { type: 'batch'; batch: SharedBatch }
  | { type: 'published'; results: PublishResult[] }
  | { type: 'metrics'; reqId: number; text: string }
  | { type: 'drain'; ms: number }
  | { type: 'close-streams' };

export type FromShard =
  | { type: 'ready'; descriptor: number }
  | { type: 'publish'; requests: PublishRequest[] }
  | { type: 'metrics'; reqId: number }
  | { type: 'drained' }
  | { type: 'close-all-streams' }
  | { type: 'fatal'; error: string };

/**
 * Collects what one event-loop turn produces and posts it as one message in the check phase
 * (setImmediate): every request uWS handed over in that turn crosses the thread boundary together.
 * A postMessage wakes the other thread, so under load this turns N wake-ups into one.
 */
export class Coalescer<T> {
  private pending: T[] = [];

  constructor(private readonly post: (items: T[]) => void) {}

  push(item: T): void {
    if (this.pending.length === 0) setImmediate(() => this.flush());
    this.pending.push(item);
  }

  private flush(): void {
    const items = this.pending;
    this.pending = [];
    this.post(items);
  }
}
