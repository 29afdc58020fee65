// Entry point and composition root: an event goes intake (transport handlers) -> sequencing (local
// sequencer or Redis log, then the batcher) -> threads (shard host) -> fan-out (shard, hub) ->
// transport (SSE stream). Shuts down gracefully on SIGTERM/SIGINT.
// First: raises uWS's request-head limit before anything loads uWS (see the module).
import './config/uws-limits.js';
// and keeps the main thread's young generation small (see the module).
import './config/v8-heap.js';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { JwksCache } from './intake/jwks-cache.js';
import { createAddressCounters } from './threads/address-counters.js';
import { drainingError } from './intake/errors.js';
import type { KeyedUnit } from './intake/idempotency-keys.js';
import type { PublishItem } from './intake/publish-request.js';
import { Metrics } from './metrics/metrics.js';
import { StatsSampler } from './metrics/stats.js';
import { PRESENCE_TOPIC } from './intake/topics.js';
import { PresenceService } from './presence/presence-service.js';
import { askFrom } from './presence/queries.js';
import { RedisPresence } from './presence/redis-presence.js';
import { Batcher } from './sequencing/batcher.js';
import type { SharedBatch } from './sequencing/batch-layout.js';
import { newEpoch } from './sequencing/event-ids.js';
import { IdempotencyTable, publishKeyed } from './sequencing/idempotency-table.js';
import { LocalSequencer, type SequencedRun } from './sequencing/local-sequencer.js';
import { RedisEventLog } from './sequencing/redis-event-log.js';
import { Reorderer } from './sequencing/reorderer.js';
import { SharedSequence } from './sequencing/shared-sequence.js';
import { InThreadShard } from './threads/in-thread-shard.js';
import type { ShardHost } from './threads/shard-host.js';
import { ShardPool } from './threads/shard-pool.js';
import { createSharedCounters, GLOBAL_SLOT, type SharedCounters } from './threads/shared-counters.js';
import { DeliveryAcks, storedPublish } from './eventlog/acks.js';
import { logSyncs } from './eventlog/datasync.js';
import type { EventLog } from './eventlog/event-log.js';
import { WriteAhead } from './eventlog/write-ahead.js';
import { openLog } from './handover/open-log.js';
import { HandoverSource } from './handover/handover-source.js';
import { OwnedLog } from './handover/owned-log.js';
import { setPhase } from './handover/phase.js';
import { step } from './handover/protocol.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}

function settings(config: Config): string {
  const keySource = config.jwtSecret !== undefined || config.jwtPublicKeyFile !== undefined || config.jwksUrl !== undefined;
  const { shards, batchSize, batchMs, segmentSize, historySize, maxBackpressure, slowConsumer, heartbeatMs, retryMs, maxConnections, maxPublishBytes } = config;
  return JSON.stringify({ shards, batchSize, batchMs, segmentSize, historySize, maxBackpressure, slowConsumer, heartbeatMs, retryMs, maxConnections, maxPublishBytes, cors: config.corsOrigins, publishAuth: config.publishToken !== undefined || keySource, subscriberAuth: keySource, jwtAlgorithms: config.jwtAlgorithms, jwks: config.jwksUrl !== undefined, maxConnectionsPerIp: config.maxConnectionsPerIp, trustProxy: config.trustProxy, tls: config.tlsCertFile !== undefined, redis: config.redisUrl !== undefined });
}

/** Cluster mode: the Redis log, connected, and the epoch in force there. */
async function connectRedis(url: string, config: Config, shared: SharedCounters): Promise<RedisEventLog> {
  const log = new RedisEventLog(url, {
    maxLen: config.historySize,
    onHealth: (up) => {
      Atomics.store(shared.global, GLOBAL_SLOT.DEGRADED, up ? 0 : 1);
      console.error(up ? 'event log (Redis) reachable' : 'event log (Redis) unreachable: publishes answer 503 until it is back');
    },
    epochCells: shared.redisEpoch,
    readWindowMs: config.batchMs,
    idempotencyWindowMs: config.idempotencyWindowMs,
  });
  try {
    await log.connect();
  } catch (err) {
    console.error(`cannot reach Redis at REDIS_URL: ${(err as Error).message}`);
    process.exit(1);
  }
  return log;
}

async function main(): Promise<void> {
  const config = configOrExit();
  // Handlers first: a signal that arrives while starting is remembered and honoured once listening.
  let shutdown: ((signal: string) => void) | undefined;
  let earlySignal: string | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => (shutdown ? shutdown(signal) : (earlySignal ??= signal)));
  }

  const shared = createSharedCounters(Math.max(config.shards, 1));
  const draining = (): boolean => Atomics.load(shared.global, GLOBAL_SLOT.DRAINING) === 1;
  const redis = config.redisUrl === undefined ? undefined : await connectRedis(config.redisUrl, config, shared);
  const opened = openLog(config);
  const log = opened?.log;
  // A handover: nothing is numbered before this process owns the log (taken just before listening).
  if (opened?.handover) Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 1);
  const epoch = redis?.currentEpoch ?? log?.epoch ?? newEpoch();
  // The recovered history goes on: numbers continue after the newest stored.
  if (log !== undefined) Atomics.store(shared.position, 0, BigInt(log.lastSeq));

  // Access control shared by every shard: the JWKS, fetched once per process (here), and the
  // per-address stream counts. A JWKS not reachable yet does not stop the start: /healthz says so.
  const jwks = config.jwksUrl === undefined ? undefined : new JwksCache({ url: config.jwksUrl, cacheS: config.jwksCacheS });
  await jwks?.start();
  const access = { jwks, addressCounters: config.maxConnectionsPerIp > 0 ? createAddressCounters(config.maxConnections) : undefined };
  const shards: ShardHost =
    config.shards === 0 ? new InThreadShard(config, shared, epoch, access) : new ShardPool(config, shared, epoch, access);
  // One server: every number claimed, in whichever thread answered the 202, is an event accepted.
  // Cluster: Redis numbers every server's events; each thread counts this server's there too.
  const sequence = new SharedSequence(shared.position);
  const published = (): number => sequence.last;
  const metrics = new Metrics(shared, { historySize: () => shards.historySize, published, logSyncs, shardThreads: config.shards });
  if (log !== undefined) shards.seed(log.takeSeed(), log.aliases, log.takeIndex());
  // Durable log: each batch is written before the shards see it. DURABILITY=fsync: publishes received
  // in this thread (SHARDS=0, presence) are answered when it reaches them, like a worker's (acks.ts).
  const acks = log !== undefined && config.durability === 'fsync' ? new DeliveryAcks(log.lastSeq) : undefined;
  const deliver = (batch: SharedBatch): void => {
    shards.deliver(batch);
    acks?.reach(batch.firstSeq + batch.count - 1);
  };
  const logDown = (): boolean => Atomics.load(shared.global, GLOBAL_SLOT.DEGRADED) === 1;
  const writeAhead = (l: EventLog): WriteAhead => {
    l.onRetained = (oldest) => shards.forgetSegmentsBefore(oldest);
    return new WriteAhead(l, config.durability === 'fsync', deliver, (writable) => Atomics.store(shared.global, GLOBAL_SLOT.DEGRADED, writable ? 0 : 1));
  };
  const owned = opened === undefined ? undefined : new OwnedLog(config.dataDir!, opened.open, writeAhead, opened.log);
  const batcher = new Batcher(epoch, config.batchSize, config.batchMs, (batch) => {
    metrics.batchEvents.observe(batch.count);
    if (owned === undefined) deliver(batch);
    else owned.submit(batch);
  });
  const recordPublishLatency = (receivedAt: number): void => {
    metrics.publishLatency.observe((performance.timeOrigin + performance.now() - receivedAt) / 1000);
  };
  // One server: events numbered in any thread come back to sequence order here, then to the batcher.
  const reorderer = new Reorderer(
    log?.lastSeq ?? 0,
    (run: SequencedRun) => {
      batcher.appendRun(run);
      recordPublishLatency(run.receivedAt);
    },
    () => batcher.flush(), // a batch holds consecutive numbers: the next one starts after the lost ones
  );
  const local = new LocalSequencer(sequence, epoch, (run) => reorderer.add(run));
  // One server: every keyed publish is decided here (shards send theirs), against the keys the log kept.
  const keys = new IdempotencyTable(config.idempotencyWindowMs, config.idempotencyMaxKeys);
  const rememberKeys = (): void => {
    for (const record of log?.takeKeys() ?? []) keys.remember(record, Date.now());
  };
  rememberKeys();
  const publishLocal = storedPublish(
    (items, receivedAt, units) =>
      units === undefined ? local.assign(items, receivedAt) : publishKeyed(keys, items, units, (fresh, marks) => local.assign(fresh, receivedAt, marks)),
    log === undefined ? 'memory' : config.durability,
    acks,
    logDown,
  );
  const publish = (items: PublishItem[], receivedAt: number, units?: readonly KeyedUnit[]): string[] | Promise<string[]> => {
    if (draining()) throw drainingError();
    if (redis === undefined) return publishLocal(items, receivedAt, units);
    return redis.publish(items, units).then((ids) => {
      sequence.countPublished(items.length);
      recordPublishLatency(receivedAt);
      return ids;
    });
  };

  // Presence: counts from every shard (and server), announced on $presence through the
  // same publish path as a POST /publish received in this thread: sequenced, with ids, in history.
  const serverId = randomBytes(6).toString('hex');
  const presence = new PresenceService(
    config.presenceIntervalMs,
    (topic, subscribers) => {
      const item = { topic: PRESENCE_TOPIC, event: 'presence', data: JSON.stringify({ topic, subscribers }) };
      try {
        const ids = publish([item], performance.timeOrigin + performance.now());
        if (!Array.isArray(ids)) ids.catch(() => {}); // Redis away or draining: this announcement is lost, the counts are not
      } catch {
        // draining
      }
    },
    serverId,
  );
  const stats = new StatsSampler(shared, metrics.publishLatency, published, () => presence.table.size);
  const ask = askFrom({
    subscribers: (topic) => presence.subscribers(topic),
    list: (prefix, limit, cursor, patterns) => presence.list(prefix, limit, cursor, patterns),
    stats: () => stats.latest,
  });
  const clusterPresence =
    config.redisUrl === undefined ? undefined : new RedisPresence(config.redisUrl, serverId, presence, (snapshot) => presence.cluster(snapshot));
  await shards.start(
    { publish, metricsText: () => metrics.text(), ask },
    {
      sequenced: (runs) => runs.forEach((run) => reorderer.add(run)),
      claimsSettled: (upTo) => reorderer.settle(upTo),
      clusterPublished: (latenciesS) => latenciesS.forEach((s) => metrics.publishLatency.observe(s)),
      presence,
    },
  );
  await clusterPresence?.start();

  // A handover: the old server releases the log only now, with everything slow done; this process
  // listens once it owns the log.
  const handover = await opened?.handover?.take(deliver);
  if (handover !== undefined) {
    rememberKeys();
    Atomics.store(shared.position, 0, BigInt(log!.lastSeq));
    reorderer.startAfter(log!.lastSeq);
    Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 0);
  }

  // Cluster mode: load the retained stream (the shared history) before taking connections.
  await redis?.start((events) => {
    for (const e of events) batcher.append(e.epoch, e.seq, e.item);
  });

  const listening = await shards.listen(config.host, config.port);
  const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  console.log(`settings ${settings(config)}`);
  console.log(`listening on ${config.tlsCertFile !== undefined ? 'https' : 'http'}://${shownHost}:${listening.port} (epoch ${redis?.currentEpoch ?? batcher.epoch})`);
  if (handover) step('listening');
  handover?.ready();

  let stopping = false;
  // A newer server on the same DATA_DIR asks for the log: it gets it complete, or this one serves on.
  const handoverSource =
    owned === undefined
      ? undefined
      : await HandoverSource.listen(config.dataDir!, {
          release: async (port) => {
            // a new server elsewhere would leave this port without one
            if (port !== listening.port) throw new Error(`a handover needs the same PORT: this server listens on ${listening.port}, not ${port}`);
            await owned.syncAhead(); // while still taking publishes
            if (stopping) throw new Error('this server is shutting down');
            if (logDown()) throw new Error('this server cannot write its event log now');
            Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 1);
            setPhase(shared.global, 'handing-over');
            step('draining: publishes answer 503');
            await shards.flushRuns(); // every number a shard claimed is in the batcher now
            batcher.flush();
            owned.close(true);
            step('log closed');
            return { epoch, lastSeq: sequence.last };
          },
          handedOver: () => shutdown?.('handover'),
          rollback: async (released) => {
            try {
              await owned.retake(released);
            } catch (err) {
              console.error(`handover: cannot take the event log back (${(err as Error).message}); stopping`);
              process.exit(1);
            }
            if (stopping) return; // a SIGTERM meanwhile: its drain closes the log
            Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 0);
            setPhase(shared.global, 'serving');
            console.log(`handover: serving again at epoch ${released.epoch}, seq ${released.lastSeq}`);
          },
        });
  shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining ${config.drainMs} ms`);
    Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 1);
    setPhase(shared.global, 'draining');
    // Stops accepting at once: while two servers listen on the port the kernel spreads new connections over both.
    listening.close();
    handoverSource?.close();
    jwks?.stop();
    batcher.flush();
    const hardStop = setTimeout(() => {
      console.error('drain took too long, exiting');
      process.exit(1);
    }, config.drainMs + 5_000);
    // Let the last batch reach the streams before they are ended.
    setTimeout(() => {
      void shards
        .shutdown(config.drainMs)
        .then(() => {
          presence.stop();
          stats.stop();
          return clusterPresence?.stop();
        })
        .then(() => redis?.stop())
        .then(() => {
          owned?.close();
          clearTimeout(hardStop);
          console.log('drained, bye');
          process.exit(0);
        });
    }, config.batchMs + 10);
  };
  if (earlySignal !== undefined) shutdown(earlySignal);
}

main().catch((err: unknown) => {
  console.error('fatal:', err);
  process.exit(1);
});
