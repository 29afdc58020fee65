// A shard: a worker thread with its own uWS app (a child of the main thread's acceptor), its own
// connections, history and hub. Receives batches in order; numbers publishes itself (the shared
// sequence on one server, its own Redis connection in cluster mode); asks the main thread to render
// metrics.
import { parentPort, workerData } from 'node:worker_threads';
import { Shard } from '../fanout/shard.js';
import { deliverChanges } from '../fanout/topic-counts.js';
import { AccessControl } from '../intake/access-control.js';
import { JwksMirror } from '../intake/jwks-feed.js';
import type { PublishItem } from '../intake/publish-request.js';
import { LocalSequencer, type SequencedRun } from '../sequencing/local-sequencer.js';
import { SharedSequence } from '../sequencing/shared-sequence.js';
import { ShardHttp } from '../transport/routes.js';
import { Coalescer } from './coalescer.js';
import type { FromShard, ShardInit, ToShard } from './protocol.js';
import type { Ask } from '../presence/queries.js';
import { answeredIds, PendingRequests } from './request-reply.js';
import type { KeyedAnswer } from './protocol.js';
import type { KeyedUnit } from '../intake/idempotency-keys.js';
import { packRuns, transferables } from './run-packing.js';
import { attachSharedCounters, GLOBAL_SLOT, SHARD_SLOT } from './shared-counters.js';
import { DeliveryAcks, storedPublish } from '../eventlog/acks.js';
import { drainingError } from '../intake/errors.js';

/** Adds at most this much to an event's wait for its batch (BATCH_MS), only while publishes keep coming. */
const RUNS_WINDOW_MS = 1;
/**
 * A publish with more payload than this takes a while to encode (up to ~5 ms: 0.3 µs a line). Every
 * shard's later events wait for the numbers this one has claimed: those go first, not after it.
 */
const LONG_ENCODE_CHARS = 16 * 1024;
/** Cluster mode: publish latencies reach the main thread's histogram at most this late. */
const CLUSTER_LATENCIES_WINDOW_MS = 100;

const init = workerData as ShardInit;
const port = parentPort!;
const post = (m: FromShard, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

const shared = attachSharedCounters(init.counters, init.shardRows);
const shard = new Shard(init.config, init.index, shared, init.epoch);
shard.seed(init.history, init.stored);
shard.aliases = new Map(init.aliases);
// DURABILITY=fsync: a publish is answered when the batch holding it arrives here, synced.
const acks = init.config.durability === 'fsync' ? new DeliveryAcks() : undefined;
// Presence: the counts that changed go to the main thread in one message per window at most.
deliverChanges(shard.presence, (changes) => post({ type: 'presence', changes }));

const pending = new PendingRequests();
// One server: number and encode here, answer at once; the main thread orders the runs and batches them.
// Under load the runs leave at most once per RUNS_WINDOW_MS: each message wakes the main thread, and
// one per event-loop turn meant thousands of wake-ups a second.
const runs = new Coalescer<SequencedRun>((list) => {
  const packed = packRuns(list);
  post({ type: 'sequenced', runs: packed }, transferables(packed));
}, Math.min(RUNS_WINDOW_MS, init.config.batchMs));
const sequence = new SharedSequence(shared.position);
const local = new LocalSequencer(sequence, init.epoch, (run) => runs.push(run));
// Cluster mode: Redis numbers them, on this shard's own connection; the main thread reads them
// back from the stream like any server's, and learns their publish latencies in bulk.
// Loaded only in cluster mode: importing ioredis costs every shard's start about 0.1 s of CPU.
const redis = init.config.redisUrl === undefined ? undefined : await clusterPublisher(init.config.redisUrl);
redis?.connection.connect().catch(() => {}); // until it is up, publishes answer 503
const latencies = new Coalescer<number>((latenciesS) => post({ type: 'cluster-published', latenciesS }), CLUSTER_LATENCIES_WINDOW_MS);
const publishHere = storedPublish(
  (items: PublishItem[], receivedAt: number) => {
    // checked again at the claim: the log may be handed over between a request's head and its body
    if (shard.counters.flag(GLOBAL_SLOT.DRAINING) === 1) throw drainingError();
    if (items.reduce((n, it) => n + it.data.length, 0) > LONG_ENCODE_CHARS) runs.flush();
    return local.assign(items, receivedAt);
  },
  init.config.durability,
  acks,
  () => shard.counters.flag(GLOBAL_SLOT.DEGRADED) === 1,
);
// One server: a keyed publish is decided by the main thread, which holds every key (and answers it
// synced when DURABILITY=fsync); an un-keyed one never leaves this thread.
const publishKeyed = (items: PublishItem[], receivedAt: number, keys: readonly KeyedUnit[]): Promise<string[]> =>
  pending.ask<KeyedAnswer>((reqId) => post({ type: 'publish-keyed', reqId, items, keys, receivedAt })).then(answeredIds);
const publish =
  redis === undefined
    ? (items: PublishItem[], receivedAt: number, keys?: readonly KeyedUnit[]) =>
        keys === undefined ? publishHere(items, receivedAt) : publishKeyed(items, receivedAt, keys)
    : (items: PublishItem[], receivedAt: number, keys?: readonly KeyedUnit[]) =>
        redis.publish(items, keys).then((ids) => {
          sequence.countPublished(items.length);
          latencies.push((performance.timeOrigin + performance.now() - receivedAt) / 1000);
          return ids;
        });
// The JWKS is fetched by the main thread only; this shard keeps a copy and asks it to refetch.
const jwks = init.jwks === undefined ? undefined : new JwksMirror(init.jwks, () => pending.ask<void>((reqId) => post({ type: 'jwks-refetch', reqId })));
const http = new ShardHttp({
  config: init.config,
  shard,
  access: new AccessControl(init.config, { jwks, addressCounters: init.addressCounters }),
  backend: {
    publish,
    metricsText: () => pending.ask<string>((reqId) => post({ type: 'metrics', reqId })),
    ask: ((query) => pending.ask((reqId) => post({ type: 'ask', reqId, query }))) as Ask,
  },
  debug: init.config.debugFaults
    ? {
        crash() {
          throw new Error('fault injected by POST /_debug/crash-shard');
        },
        closeStreams: () => post({ type: 'close-streams' }),
      }
    : undefined,
});

async function clusterPublisher(url: string) {
  const { EpochView, RedisPublisher } = await import('../sequencing/redis-publisher.js');
  // Health counts this connection too: a publish that lands on this shard goes through it.
  const reportReady = (ready: boolean): void => shard.counters.set(SHARD_SLOT.EVENT_LOG_DOWN, ready ? 0 : 1);
  reportReady(false);
  return new RedisPublisher(url, init.config.historySize, new EpochView(shared.redisEpoch), {
    onReady: reportReady,
    idempotencyWindowMs: init.config.idempotencyWindowMs,
  });
}

/** Set by a fatal error: from then on this thread only waits to be unplugged, then ends. */
let failed = false;
/** After the unplugging, sockets handed over just before it may still arrive: close them too. */
const UNPLUG_GRACE_MS = 100;

// The listener also keeps this thread alive: the app never listens itself, and a thread that ends
// would reset the sockets the acceptor hands to it.
port.on('message', (m: ToShard) => {
  if (failed) {
    if (m.type === 'unplugged') {
      closeQuietly();
      setTimeout(() => {
        closeQuietly();
        port.close();
      }, UNPLUG_GRACE_MS);
    }
    return;
  }
  switch (m.type) {
    case 'batch':
      shard.receive(m.batch);
      return acks?.reach(m.batch.firstSeq + m.batch.count - 1);
    case 'forget-segments':
      return shard.disk?.forgetBefore(m.oldest);
    case 'metrics':
      return pending.resolve(m.reqId, m.text);
    case 'answer':
      return pending.resolve(m.reqId, m.value);
    case 'published':
      return pending.resolve(m.reqId, m.answer);
    case 'close-streams':
      return http.events.closeAll();
    case 'jwks':
      return jwks?.update(m.state);
    case 'jwks-refetched':
      return pending.resolve(m.reqId, undefined);
    case 'flush-runs':
      runs.flush();
      return post({ type: 'runs-flushed' });
    case 'shutdown':
      void http
        .shutdown(m.ms)
        .then(() => redis?.stop())
        .then(() => {
          latencies.flush();
          post({ type: 'shut-down' });
          port.close();
        });
      return;
  }
});

// A fatal error must not escape: an uncaught exception in a thread holding uWS sockets aborts the
// whole process. Close the app (its clients reconnect elsewhere and resume), but keep this thread
// and its loop until the main thread has taken it off the acceptor ('unplugged'): the acceptor
// hands a socket over by queueing it on this thread's loop, and queueing on a loop already torn
// down aborted the whole process (std::system_error, seen with clients reconnecting at once).
process.on('uncaughtException', (err) => {
  if (failed) return;
  failed = true;
  runs.flush(); // numbers already given out must reach the main thread, or they leave a gap
  post({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  redis?.connection.disconnect();
  closeQuietly();
});

function closeQuietly(): void {
  try {
    http.close();
  } catch {
    // a half-closed app: what matters is that this thread ends
  }
}

post({ type: 'ready', descriptor: http.descriptor() });
