// Entry point: reads the config, then runs either everything in this thread (SHARDS=0) or an
// acceptor plus SHARDS worker shards; events are sequenced here, or by Redis in cluster mode.
// Shuts down gracefully on SIGTERM/SIGINT.
import * as uWS from 'uWebSockets.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { HttpError } from './errors.js';
import { newEpoch } from './event-ids.js';
import { Metrics } from './metrics.js';
import type { PublishItem } from './publish-request.js';
import { RedisEventLog } from './redis-event-log.js';
import { Sequencer } from './sequencer.js';
import { Shard } from './shard.js';
import { ShardPool } from './shard-pool.js';
import type { SharedBatch } from './event-batch.js';
import { createSharedCounters, GLOBAL_SLOT } from './shared-counters.js';
import { HttpApp, serveWhileNoShard } from './transport/http-app.js';

function settings(config: Config): string {
  const { shards, batchSize, batchMs, segmentSize, historySize, maxBackpressure, slowConsumer, heartbeatMs, retryMs, maxConnections, maxPublishBytes } = config;
  return JSON.stringify({ shards, batchSize, batchMs, segmentSize, historySize, maxBackpressure, slowConsumer, heartbeatMs, retryMs, maxConnections, maxPublishBytes, cors: config.corsOrigins, publishAuth: config.publishToken !== undefined, subscriberAuth: config.jwtSecret !== undefined, tls: config.tlsCertFile !== undefined, redis: config.redisUrl !== undefined });
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  // Handlers first: a signal that arrives while starting is remembered and honoured once listening.
  let shutdown: ((signal: string) => void) | undefined;
  let earlySignal: string | undefined;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => (shutdown ? shutdown(signal) : (earlySignal ??= signal)));
  }

  const shared = createSharedCounters(Math.max(config.shards, 1));
  const tls = config.tlsCertFile !== undefined;
  const draining = (): boolean => Atomics.load(shared.global, GLOBAL_SLOT.DRAINING) === 1;
  let accepted = 0;

  // Batches go to wherever the connections are; set below, before any event is sequenced.
  let deliver!: (batch: SharedBatch) => void;
  const sequencer = new Sequencer(newEpoch(), config.batchSize, config.batchMs, (b) => {
    metrics.batchEvents.observe(b.count);
    deliver(b);
  });

  let eventLog: RedisEventLog | undefined;
  if (config.redisUrl !== undefined) {
    eventLog = new RedisEventLog(config.redisUrl, config.historySize, {
      onEvents: (events) => {
        for (const e of events) sequencer.appendLogged(e.epoch, e.seq, e.item);
      },
      onHealth: (up) => {
        Atomics.store(shared.global, GLOBAL_SLOT.DEGRADED, up ? 0 : 1);
        console.error(up ? 'event log (Redis) reachable' : 'event log (Redis) unreachable: publishes answer 503 until it is back');
      },
    });
    try {
      sequencer.epoch = await eventLog.connect();
    } catch (err) {
      console.error(`cannot reach Redis at REDIS_URL: ${(err as Error).message}`);
      process.exit(1);
    }
  }

  const metrics = new Metrics(shared, {
    eventsPublished: () => accepted,
    historySize: () => historySize(),
    eventLogUp: () => (Atomics.load(shared.global, GLOBAL_SLOT.DEGRADED) === 1 ? 0 : 1),
  });
  const publish = async (items: PublishItem[], receivedAt: number): Promise<string[]> => {
    if (draining()) throw new HttpError('DRAINING');
    const ids = eventLog === undefined ? sequencer.publish(items) : await eventLog.publish(items);
    accepted += items.length;
    metrics.publishLatency.observe((performance.timeOrigin + performance.now() - receivedAt) / 1000);
    return ids;
  };
  const backend = { publish, metricsText: () => metrics.text() };

  let listener: uWS.TemplatedApp;
  let drain: (ms: number) => Promise<void>;
  let historySize: () => number;
  if (config.shards === 0) {
    const shard = new Shard(config, 0, shared, sequencer.epoch);
    deliver = (b) => shard.receive(b);
    const http: HttpApp = new HttpApp({
      config,
      shard,
      tls,
      backend,
      // no crash-shard here: there is no shard to replace
      debug: config.debugFaults ? { closeAllStreams: () => http.endAllStreams() } : undefined,
    });
    http.startHeartbeats();
    listener = http.app;
    drain = (ms) => http.drain(ms).then(() => http.close());
    historySize = () => shard.history.size;
  } else {
    const pool = new ShardPool(config, shared, sequencer.epoch, publish, backend.metricsText);
    deliver = (b) => pool.broadcast(b);
    await pool.start();
    listener = tls ? uWS.SSLApp({ cert_file_name: config.tlsCertFile!, key_file_name: config.tlsKeyFile! }) : uWS.App();
    serveWhileNoShard(listener, config.retryMs);
    pool.attach(listener);
    drain = (ms) => pool.drain(ms);
    historySize = () => pool.historySize;
  }

  // Cluster mode: load the retained stream (the shared history) before taking connections.
  await eventLog?.start();

  const listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
    listener.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);
  const shownHost = config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
  console.log(`settings ${settings(config)}`);
  console.log(`listening on ${tls ? 'https' : 'http'}://${shownHost}:${port} (epoch ${eventLog?.currentEpoch ?? sequencer.epoch})`);

  let stopping = false;
  shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining ${config.drainMs} ms`);
    Atomics.store(shared.global, GLOBAL_SLOT.DRAINING, 1);
    uWS.us_listen_socket_close(listenSocket);
    sequencer.flush();
    const hardStop = setTimeout(() => {
      console.error('drain took too long, exiting');
      process.exit(1);
    }, config.drainMs + 5_000);
    // Let the last batch reach the streams before they are ended.
    setTimeout(() => {
      void drain(config.drainMs)
        .then(() => eventLog?.stop())
        .then(() => {
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
