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

export type ToShard =
  | { type: 'batch'; batch: SharedBatch }
  | { type: 'published'; reqId: number; ids: string[] }
  | { type: 'publish-failed'; reqId: number; code: string; message: string }
  | { type: 'metrics'; reqId: number; text: string }
  | { type: 'drain'; ms: number }
  | { type: 'close-streams' };

export type FromShard =
  | { type: 'ready'; descriptor: number }
  | { type: 'publish'; reqId: number; items: PublishItem[]; receivedAt: number }
  | { type: 'metrics'; reqId: number }
  | { type: 'drained' }
  | { type: 'close-all-streams' }
  | { type: 'fatal'; error: string };
