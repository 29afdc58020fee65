// Where the shards run: all in this thread (SHARDS=0) or in worker threads behind an acceptor. The
// composition root picks one; the rest of the server does not care which.
import type { SharedBatch } from '../sequencing/batch-layout.js';
import type { TopicCount } from '../fanout/topic-counts.js';
import type { SequencedRun } from '../sequencing/local-sequencer.js';
import type { Backend } from '../transport/routes.js';
import type { Listening } from '../transport/uws-app.js';

/** Where each shard's presence counts go (the main thread's PresenceService). */
export interface PresenceSink {
  /** `source` names one shard thread: a replacement shard is a new source */
  shardChanged(source: string, changes: readonly TopicCount[]): void;
  shardGone(source: string): void;
}

export interface ShardHost {
  /**
   * Starts the shards; from now on they may ask `backend` to sequence publishes (cluster mode) or,
   * on one server, number and encode events themselves and hand the runs to `sequenced`. Each shard
   * reports its presence counts to `presence` when they change.
   */
  start(backend: Backend, sequenced: (runs: SequencedRun[]) => void, presence: PresenceSink): Promise<void>;
  /** Takes connections on host:port. */
  listen(host: string, port: number): Promise<Listening>;
  /** A sealed batch, in sequence order, for every shard. */
  deliver(batch: SharedBatch): void;
  /** Events retained for replay. */
  readonly historySize: number;
  /** Graceful shutdown: every stream ended over `ms`, then the apps closed. */
  shutdown(ms: number): Promise<void>;
}
