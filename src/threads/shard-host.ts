// Where the shards run: all in this thread (SHARDS=0) or in worker threads behind an acceptor. The
// composition root picks one; the rest of the server does not care which.
import type { SharedBatch } from '../sequencing/batch-layout.js';
import type { IndexedRecord } from '../eventlog/log-index.js';
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

/** What worker shards report to the main thread besides requests to `backend`. */
export interface ShardSinks {
  /** one server: events a shard numbered and encoded itself, for the main thread to order and batch */
  sequenced(runs: SequencedRun[]): void;
  /**
   * one server, a shard died: every number claimed up to `upTo` that has not come never will (every
   * live shard has posted what it had claimed by then)
   */
  claimsSettled(upTo: number): void;
  /** cluster mode: a shard's publishes that Redis numbered, as their times from receipt to Redis's answer (s) */
  clusterPublished(latenciesS: readonly number[]): void;
  /** each shard's presence counts, when they change */
  presence: PresenceSink;
}

export interface ShardHost {
  /** Starts the shards. */
  start(backend: Backend, sinks: ShardSinks): Promise<void>;
  /** Takes connections on host:port. */
  listen(host: string, port: number): Promise<Listening>;
  /** Before start: the history recovered from the durable log, the earlier epochs it continues, and where the log holds every retained batch. */
  seed(batches: readonly SharedBatch[], aliases: ReadonlyMap<string, number>, stored?: readonly IndexedRecord[]): void;
  /** A sealed batch, in sequence order, for every shard. */
  deliver(batch: SharedBatch): void;
  /** Durable log: retention deleted every segment before `oldest`; every shard forgets them at once. */
  forgetSegmentsBefore(oldest: number): void;
  /** Resolves once every event a shard numbered has reached the main thread's sinks (one server). */
  flushRuns(): Promise<void>;
  /** Events retained for replay. */
  readonly historySize: number;
  /** Graceful shutdown: every stream ended over `ms`, then the apps closed. */
  shutdown(ms: number): Promise<void>;
}
