// Every message between the main thread (acceptor + sequencing) and the shard workers, in one place.
import type { Config } from '../config/config.js';
import type { JwksState } from '../intake/jwks-feed.js';
import type { TopicCount } from '../fanout/topic-counts.js';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import type { PackedRuns } from './run-packing.js';
import type { MainQuery } from '../presence/queries.js';
import type { IndexedRecord } from '../eventlog/log-index.js';
import type { KeyedUnit } from '../intake/idempotency-keys.js';
import type { PublishItem } from '../intake/publish-request.js';

/** The main thread's answer to a keyed publish: the ids, or the error to send (an HttpError's code). */
export type KeyedAnswer = { ids: string[] } | { code: string; message: string; retryAfterS?: number };

/** Handed to a worker at start (workerData). */
export interface ShardInit {
  index: number;
  config: Config;
  counters: SharedArrayBuffer;
  shardRows: number;
  epoch: string;
  /** the retained history, so a replacement shard can serve resumes at once */
  history: SharedBatch[];
  /** durable log: where each retained batch lies on disk, oldest first (LogIndex) */
  stored: IndexedRecord[];
  /** durable log: earlier epochs the current one continues ([epoch, last number that survived]) */
  aliases: [string, number][];
  /** JWKS_URL: the main thread's JWKS as it is now (later changes come as 'jwks' messages) */
  jwks?: JwksState;
  /** MAX_CONNECTIONS_PER_IP: the table of streams per client address, shared by every shard */
  addressCounters?: SharedArrayBuffer;
}

export type ToShard =
  | { type: 'batch'; batch: SharedBatch }
  /** durable log: retention deleted every segment before `oldest` (LogIndex.forgetBefore) */
  | { type: 'forget-segments'; oldest: number }
  | { type: 'metrics'; reqId: number; text: string }
  /** the main thread's answer to a 'publish-keyed' */
  | { type: 'published'; reqId: number; answer: KeyedAnswer }
  /** the main thread's answer to an 'ask' */
  | { type: 'answer'; reqId: number; value: unknown }
  | { type: 'shutdown'; ms: number }
  /** fault injection (DEBUG_FAULTS): end every stream; clients reconnect and resume */
  | { type: 'close-streams' }
  /** the JWKS changed (broadcast to every shard) */
  | { type: 'jwks'; state: JwksState }
  /** answer to 'jwks-refetch': the JWKS is as fresh as it will get (any change came before as 'jwks') */
  | { type: 'jwks-refetched'; reqId: number }
  /** answer to 'fatal': the acceptor hands this shard no more sockets; it may end */
  | { type: 'unplugged' }
  /** one server, another shard died: post the numbered events held back for the window now, then answer 'runs-flushed' */
  | { type: 'flush-runs' };

export type FromShard =
  | { type: 'ready'; descriptor: number }
  /** one server: events this shard numbered and encoded itself, for the main thread to order and batch */
  | { type: 'sequenced'; runs: PackedRuns }
  /** answer to 'flush-runs': every number this shard had claimed came before it (the same port keeps the order) */
  | { type: 'runs-flushed' }
  /** cluster mode: this shard's publishes that Redis numbered, as their times from receipt to Redis's answer (s) */
  | { type: 'cluster-published'; latenciesS: number[] }
  | { type: 'metrics'; reqId: number }
  /** one server: a publish with idempotency keys, decided by the main thread (which holds the keys); answered with 'published' */
  | { type: 'publish-keyed'; reqId: number; items: PublishItem[]; keys: readonly KeyedUnit[]; receivedAt: number }
  /** presence: this shard's count of every topic that changed since its last such message (one per turn at most) */
  | { type: 'presence'; changes: TopicCount[] }
  /** presence and live figures, held by the main thread; answered with 'answer' */
  | { type: 'ask'; reqId: number; query: MainQuery }
  | { type: 'shut-down' }
  /** a shard asks every shard (itself included) to close its streams */
  | { type: 'close-streams' }
  | { type: 'fatal'; error: string }
  /** a token named an unknown kid: fetch the JWKS again if allowed, then answer 'jwks-refetched' */
  | { type: 'jwks-refetch'; reqId: number };
