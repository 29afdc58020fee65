// A shard: a worker thread with its own uWS app (a child of the main thread's acceptor), its own
// connections, history and hub. Receives batches in order; asks the main thread to sequence
// publishes and to render metrics.
import { parentPort, workerData } from 'node:worker_threads';
import { Shard } from '../fanout/shard.js';
import { AccessControl } from '../intake/access-control.js';
import { HttpError, type ErrorCode } from '../intake/errors.js';
import { JwksMirror } from '../intake/jwks-feed.js';
import type { PublishItem } from '../intake/publish-request.js';
import { LocalSequencer, type SequencedRun } from '../sequencing/local-sequencer.js';
import { SharedSequence } from '../sequencing/shared-sequence.js';
import { ShardHttp } from '../transport/routes.js';
import { Coalescer } from './coalescer.js';
import type { FromShard, PublishRequest, ShardInit, ToShard } from './protocol.js';
import type { Ask } from '../presence/queries.js';
import { PendingRequests } from './request-reply.js';
import { packRuns, transferables } from './run-packing.js';
import { attachSharedCounters } from './shared-counters.js';

/** Adds at most this much to an event's wait for its batch (BATCH_MS), only while publishes keep coming. */
const RUNS_WINDOW_MS = 1;

const init = workerData as ShardInit;
const port = parentPort!;
const post = (m: FromShard, transfer?: ArrayBuffer[]): void => port.postMessage(m, transfer);

const shared = attachSharedCounters(init.counters, init.shardRows);
const shard = new Shard(init.config, init.index, shared, init.epoch);
shard.seed(init.history);
// Presence: the counts that changed in a turn go to the main thread in one message after it.
shard.presence.onDirty = () => setImmediate(() => post({ type: 'presence', changes: shard.presence.takeChanges() }));

const pending = new PendingRequests();
// One server: number and encode here, answer at once; the main thread orders the runs and batches them.
// Under load the runs leave at most once per RUNS_WINDOW_MS: each message wakes the main thread, and
// one per event-loop turn meant thousands of wake-ups a second.
const runs = new Coalescer<SequencedRun>((list) => {
  const packed = packRuns(list);
  post({ type: 'sequenced', runs: packed }, transferables(packed));
}, Math.min(RUNS_WINDOW_MS, init.config.batchMs));
const local = new LocalSequencer(new SharedSequence(shared.position), init.epoch, (run) => runs.push(run));
// Cluster mode: Redis numbers them, through the main thread's connection.
const publishes = new Coalescer<PublishRequest>((requests) => post({ type: 'publish', requests }));
const publish =
  init.config.redisUrl === undefined
    ? (items: PublishItem[], receivedAt: number) => local.assign(items, receivedAt)
    : (items: PublishItem[], receivedAt: number) => pending.ask<string[]>((reqId) => publishes.push({ reqId, items, receivedAt }));
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

// The listener also keeps this thread alive: the app never listens itself, and a thread that ends
// would reset the sockets the acceptor hands to it.
port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'batch':
      return shard.receive(m.batch);
    case 'published':
      for (const r of m.results) {
        if ('ids' in r) pending.resolve(r.reqId, r.ids);
        else pending.reject(r.reqId, new HttpError(r.code as ErrorCode, r.message));
      }
      return;
    case 'metrics':
      return pending.resolve(m.reqId, m.text);
    case 'answer':
      return pending.resolve(m.reqId, m.value);
    case 'close-streams':
      return http.events.closeAll();
    case 'jwks':
      return jwks?.update(m.state);
    case 'jwks-refetched':
      return pending.resolve(m.reqId, undefined);
    case 'shutdown':
      void http.shutdown(m.ms).then(() => {
        post({ type: 'shut-down' });
        port.close();
      });
      return;
  }
});

// A fatal error must not escape: an uncaught exception in a thread holding uWS sockets aborts the
// whole process. Close the app (its clients reconnect elsewhere and resume) and end this thread.
process.on('uncaughtException', (err) => {
  runs.flush(); // numbers already given out must reach the main thread, or they leave a gap
  post({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  try {
    http.close();
  } finally {
    port.close();
  }
});

post({ type: 'ready', descriptor: http.descriptor() });
