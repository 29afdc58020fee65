// Every knob of `make bench`, read once from BENCH_* environment variables over one of three presets:
// full (`make bench`, under 10 minutes here), BENCH_QUICK=1 (about 5 minutes) and BENCH_SMOKE=1 (a
// few seconds, for the test suite). Read with the server's own EnvReader: every problem listed, then frozen.
// Server settings (BATCH_SIZE, SEGMENT_SIZE, ...) are not bench knobs: set them in the environment
// and the uWS server picks them up; the results record what it printed.
import { fileURLToPath } from 'node:url';
import { EnvReader, type Env } from '../src/config/env-reader.js';
import type { StormClose } from './load/messages.js';

export const SCENARIOS = ['fan-out', 'high-fan-out', 'saturation', 'idle-memory', 'publish-throughput', 'two-server', 'storm', 'handover', 'compression', 'durability', 'micro'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** the compression scenario's variants: bench/scenarios/compression.ts */
export const COMPRESSION_VARIANTS = ['identity', 'gzip', 'baseline-gzip', 'nginx-gzip'] as const;
export type CompressionVariant = (typeof COMPRESSION_VARIANTS)[number];

/** the handover scenario's ways of replacing the server: bench/scenarios/handover.ts */
export const HANDOVER_VARIANTS = ['handover', 'restart', 'memory-restart'] as const;
export type HandoverVariant = (typeof HANDOVER_VARIANTS)[number];

export interface LoadShape {
  subscribers: number;
  /** events per second */
  rate: number;
  payloadBytes: number;
  /** measured publishing window (s) */
  seconds: number;
  /** unmeasured publishing before it, at the same rate (s) */
  warmupSeconds: number;
}

export interface BenchSettings {
  mode: 'full' | 'quick' | 'smoke';
  resultsDir: string;
  scenarios: ScenarioName[];
  variants: string[];
  /** repetitions of fan-out and high fan-out, alternating the variant order; medians are reported */
  rounds: number;
  fanOut: LoadShape;
  highFanOut: LoadShape;
  saturation: {
    subscribers: number;
    payloadBytes: number;
    startRate: number;
    factor: number;
    maxRate: number;
    stepSeconds: number;
    /** a failed step is run again this many times before it counts (other tenants make noise) */
    retries: number;
    /**
     * publisher connections (one request in flight each): more than the steady scenarios, so that the
     * steps find the delivery limit rather than the publish round trip of a server busy fanning out
     */
    publisherConnections: number;
    minDeliveryRatio: number;
    maxP99Ms: number;
  };
  idleMemory: { connections: number; settleMs: number };
  /** reconnect storm: every subscriber closed from the client side at once, all back at once with Last-Event-ID */
  storm: {
    subscribers: number;
    /** events per second, published before, during and after the storm */
    rate: number;
    payloadBytes: number;
    /** publishing before the storm, and after it (s) */
    beforeSeconds: number;
    afterSeconds: number;
    /** `fin`: a normal close, as a browser or a balancer going away does; `rst`: an abort */
    close: StormClose;
    /** the storm's CPU window lasts at least this long after the closes, until every client is back and caught up (s) */
    windowSeconds: number;
    /** a reconnect with no response head by then counts as failed (ms) */
    reconnectTimeoutMs: number;
  };
  /** a server replaced under load (handover, restart on the durable log, memory-only restart), the same load each time */
  handover: {
    variants: HandoverVariant[];
    subscribers: number;
    /** events per second, each with an Idempotency-Key, refusals retried */
    rate: number;
    payloadBytes: number;
    /** publishing before the replacement begins (T), and after it (s) */
    atSeconds: number;
    afterSeconds: number;
    /** SHARDS of both servers */
    shards: number;
    /** the old server's DRAIN_MS: its streams are closed over this long */
    drainMs: number;
    /** a subscriber reconnects this long after its stream closed or an attempt failed; the servers' RETRY_MS */
    reconnectMs: number;
    /** a refused publish is sent again this long after (ms) */
    publishRetryMs: number;
    /** server CPU is reported over this long from T (s) */
    cpuWindowSeconds: number;
  };
  publishThroughput: {
    seconds: number;
    connections: number;
    pipelining: number;
    /** the second pass: each connection keeps this many publishes on its way (HTTP/1.1 pipelining) */
    pipelined: number;
    /** cluster mode, a second row: as many concurrent publishers (pipelining cannot wait for Redis) */
    clusterConnections: number;
    payloadBytes: number;
  };
  /** identity vs encode-once gzip vs per-connection gzip (node:http, nginx), on the JSON ticker */
  compression: {
    variants: CompressionVariant[];
    /** repetitions, alternating the variant order; medians are reported */
    rounds: number;
    subscribers: number;
    /** events per second of each measured phase, one after the other on the same streams */
    rates: number[];
    seconds: number;
    warmupSeconds: number;
    /** idle streams per uWS variant (identity, gzip) for the RSS per idle connection */
    idleConnections: number;
    idleSettleMs: number;
  };
  /**
   * The DATA_DIR log (DURABILITY=write, fsync) against memory only: the fan-out load (fanOut's shape),
   * publish rates, start-up and a quiet topic's resume with `events` retained, disk bytes per event
   */
  durability: {
    /** measured fan-out phases per mode, alternating between the two loaded servers, and their length (s) */
    fanOutRounds: number;
    fanOutSeconds: number;
    /** short publish runs per mode, alternating the order between servers that run side by side; medians and spread are reported */
    publishRounds: number;
    publishSeconds: number;
    /** one publish at a time per connection, this many connections (DURABILITY=fsync cannot pipeline) */
    concurrentConnections: number;
    /** events in the log written for start-up and resume (all but two on busy topics) */
    events: number;
    /** quiet-topic resumes measured on each server */
    resumes: number;
    payloadBytes: number;
  };
  micro: { taskMs: number };
  /** subscribers connecting at once, over all generator processes */
  connectConcurrency: number;
  /** subscriber processes of the load generator (2: one per core; more when a process would hold too many) */
  generatorProcesses: number;
  /** most subscribers one generator process holds (the open-file limit is 20,000 here) */
  subscribersPerProcess: number;
  publisherConnections: number;
  /** longest wait for deliveries to arrive after the last publish (s) */
  drainSeconds: number;
  /** hard limit for the whole run: everything is killed past it (s) */
  timeoutSeconds: number;
  /** `make bench-sweep`: the server settings tried on the fan-out scenario, every combination */
  sweep: { batchSizes: number[]; batchMs: number[]; segmentSizes: number[]; shards: number[]; seconds: number; warmupSeconds: number };
  /** extra node flags for the generator processes, e.g. `--cpu-prof --cpu-prof-dir=/tmp/gen` */
  generatorNodeFlags: string[];
  /** extra node flags for the servers under test, e.g. `--cpu-prof --cpu-prof-dir=results/profile/shards` */
  serverNodeFlags: string[];
}

const REPO = fileURLToPath(new URL('../../', import.meta.url));

function preset(mode: BenchSettings['mode']): BenchSettings {
  const full = mode === 'full';
  const smoke = mode === 'smoke';
  return {
    mode,
    resultsDir: `${REPO}results`,
    scenarios: smoke ? ['fan-out', 'saturation', 'idle-memory', 'publish-throughput', 'storm', 'handover', 'compression', 'durability', 'micro'] : [...SCENARIOS],
    variants: smoke ? ['baseline', 'uws-1'] : ['baseline', 'uws-1', 'uws-2'],
    rounds: full ? 3 : 1,
    fanOut: smoke
      ? { subscribers: 20, rate: 50, payloadBytes: 128, seconds: 1, warmupSeconds: 0.2 }
      : { subscribers: 1_000, rate: 500, payloadBytes: 128, seconds: full ? 8 : 3, warmupSeconds: full ? 1 : 0.5 },
    highFanOut: smoke
      ? { subscribers: 50, rate: 20, payloadBytes: 128, seconds: 1, warmupSeconds: 0.2 }
      : { subscribers: 10_000, rate: 50, payloadBytes: 128, seconds: full ? 8 : 3, warmupSeconds: full ? 1 : 0.5 },
    saturation: {
      subscribers: smoke ? 20 : 1_000,
      payloadBytes: 128,
      startRate: 50,
      factor: full ? Math.SQRT2 : 2,
      maxRate: smoke ? 100 : 32_000,
      stepSeconds: smoke ? 0.5 : full ? 2 : 1,
      retries: smoke ? 0 : 1,
      publisherConnections: 64,
      minDeliveryRatio: 0.999,
      maxP99Ms: 100,
    },
    idleMemory: { connections: smoke ? 100 : 10_000, settleMs: smoke ? 200 : full ? 2_000 : 1_000 },
    storm: {
      subscribers: smoke ? 20 : 10_000,
      rate: 50,
      payloadBytes: 128,
      beforeSeconds: smoke ? 0.6 : full ? 4 : 2,
      afterSeconds: smoke ? 1.2 : full ? 8 : 4,
      close: 'fin',
      windowSeconds: smoke ? 0.3 : 1,
      reconnectTimeoutMs: 20_000,
    },
    handover: {
      variants: [...HANDOVER_VARIANTS],
      subscribers: smoke ? 20 : full ? 2_000 : 1_000,
      rate: smoke ? 50 : 200,
      payloadBytes: 128,
      atSeconds: smoke ? 0.4 : full ? 4 : 2,
      afterSeconds: smoke ? 0.3 : full ? 4 : 3,
      shards: 1,
      drainMs: smoke ? 100 : 1_000,
      reconnectMs: 100,
      publishRetryMs: 5,
      cpuWindowSeconds: 1,
    },
    publishThroughput: { seconds: smoke ? 1 : full ? 5 : 2, connections: 10, pipelining: 1, pipelined: 10, clusterConnections: 100, payloadBytes: 128 },
    compression: {
      variants: [...COMPRESSION_VARIANTS],
      rounds: 1,
      subscribers: smoke ? 20 : 1_000,
      // 50/s: one event per pass (BATCH_MS=10); 500/s: several
      rates: smoke ? [20, 100] : [50, 500],
      seconds: smoke ? 0.4 : full ? 6 : 3,
      warmupSeconds: smoke ? 0.1 : full ? 1 : 0.5,
      idleConnections: smoke ? 50 : full ? 5_000 : 2_000,
      idleSettleMs: smoke ? 200 : full ? 2_000 : 1_000,
    },
    durability: {
      fanOutRounds: smoke ? 1 : full ? 6 : 4,
      fanOutSeconds: smoke ? 1 : full ? 3 : 2,
      publishRounds: smoke ? 1 : full ? 10 : 6,
      publishSeconds: smoke ? 0.5 : 1,
      concurrentConnections: 64,
      events: smoke ? 5_000 : full ? 1_000_000 : 200_000,
      resumes: smoke ? 3 : full ? 9 : 5,
      payloadBytes: 100,
    },
    micro: { taskMs: smoke ? 20 : full ? 300 : 80 },
    connectConcurrency: 256,
    generatorProcesses: 2,
    subscribersPerProcess: 9_000,
    publisherConnections: 16,
    drainSeconds: smoke ? 3 : 5,
    // room for the durability scenario's 1,000,000-event log and the handover scenario's six server starts on a busy machine
    timeoutSeconds: smoke ? 360 : full ? 1_500 : 540,
    sweep: { batchSizes: [1, 16, 256], batchMs: [2, 10], segmentSizes: [64, 512, 4096], shards: [1, 2], seconds: smoke ? 0.5 : full ? 2 : 1, warmupSeconds: smoke ? 0.2 : 0.5 },
    generatorNodeFlags: [],
    serverNodeFlags: [],
  };
}

export class SettingsError extends Error {}

/** For the entry points: the settings, or the list of problems and exit code 2. */
export function loadSettingsOrExit(): Readonly<BenchSettings> {
  try {
    return loadSettings();
  } catch (err) {
    if (err instanceof SettingsError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}

export function loadSettings(env: Env = process.env): Readonly<BenchSettings> {
  const mode = env['BENCH_SMOKE'] === '1' ? 'smoke' : env['BENCH_QUICK'] === '1' ? 'quick' : 'full';
  const s = preset(mode);
  const read = new EnvReader(env);

  s.resultsDir = read.text('BENCH_RESULTS_DIR')?.trim() ?? s.resultsDir;
  s.scenarios = read.list('BENCH_SCENARIOS', s.scenarios, (x) => (SCENARIOS as readonly string[]).includes(x), `scenarios among ${SCENARIOS.join(', ')}`);
  s.variants = read.list('BENCH_VARIANTS', s.variants, (x) => x === 'baseline' || /^uws-\d{1,2}$/.test(x), 'variants like baseline,uws-1,uws-2');
  s.rounds = read.int('BENCH_ROUNDS', s.rounds, 1, 20);

  const seconds = read.number('BENCH_SECONDS', s.fanOut.seconds, 0.2, 600);
  const warmup = read.number('BENCH_WARMUP_SECONDS', s.fanOut.warmupSeconds, 0, 60);
  const payloadBytes = read.int('BENCH_PAYLOAD_BYTES', s.fanOut.payloadBytes, 32, 65_536);
  s.fanOut = {
    subscribers: read.int('BENCH_SUBSCRIBERS', s.fanOut.subscribers, 1, 50_000),
    rate: read.number('BENCH_RATE', s.fanOut.rate, 1, 200_000),
    payloadBytes,
    seconds,
    warmupSeconds: warmup,
  };
  s.highFanOut = {
    subscribers: read.int('BENCH_HIGH_SUBSCRIBERS', s.highFanOut.subscribers, 1, 50_000),
    rate: read.number('BENCH_HIGH_RATE', s.highFanOut.rate, 1, 200_000),
    payloadBytes,
    seconds: read.number('BENCH_HIGH_SECONDS', read.text('BENCH_SECONDS') !== undefined ? seconds : s.highFanOut.seconds, 0.2, 600),
    warmupSeconds: warmup,
  };
  s.saturation = {
    subscribers: read.int('BENCH_SAT_SUBSCRIBERS', s.saturation.subscribers, 1, 50_000),
    payloadBytes,
    startRate: read.number('BENCH_SAT_START_RATE', s.saturation.startRate, 1, 200_000),
    factor: read.number('BENCH_SAT_FACTOR', s.saturation.factor, 1.05, 10),
    maxRate: read.number('BENCH_SAT_MAX_RATE', s.saturation.maxRate, 1, 1_000_000),
    stepSeconds: read.number('BENCH_SAT_STEP_SECONDS', s.saturation.stepSeconds, 0.2, 600),
    retries: read.int('BENCH_SAT_RETRIES', s.saturation.retries, 0, 5),
    publisherConnections: read.int('BENCH_SAT_PUBLISHER_CONNECTIONS', s.saturation.publisherConnections, 1, 1_000),
    minDeliveryRatio: read.number('BENCH_SAT_MIN_DELIVERY', s.saturation.minDeliveryRatio, 0, 1),
    maxP99Ms: read.number('BENCH_SAT_MAX_P99_MS', s.saturation.maxP99Ms, 1, 60_000),
  };
  s.idleMemory = {
    connections: read.int('BENCH_IDLE_CONNECTIONS', s.idleMemory.connections, 1, 50_000),
    settleMs: read.int('BENCH_IDLE_SETTLE_MS', s.idleMemory.settleMs, 0, 60_000),
  };
  s.storm = {
    subscribers: read.int('BENCH_STORM_SUBSCRIBERS', s.storm.subscribers, 1, 50_000),
    rate: read.number('BENCH_STORM_RATE', s.storm.rate, 1, 200_000),
    payloadBytes,
    beforeSeconds: read.number('BENCH_STORM_BEFORE_SECONDS', s.storm.beforeSeconds, 0.2, 600),
    afterSeconds: read.number('BENCH_STORM_AFTER_SECONDS', s.storm.afterSeconds, 0.2, 600),
    close: read.oneOf('BENCH_STORM_CLOSE', s.storm.close, ['fin', 'rst'] as const),
    windowSeconds: read.number('BENCH_STORM_WINDOW_SECONDS', s.storm.windowSeconds, 0.1, 600),
    reconnectTimeoutMs: read.int('BENCH_STORM_RECONNECT_TIMEOUT_MS', s.storm.reconnectTimeoutMs, 100, 600_000),
  };
  s.handover = {
    variants: read.list('BENCH_HANDOVER_VARIANTS', s.handover.variants, (x) => (HANDOVER_VARIANTS as readonly string[]).includes(x), `variants among ${HANDOVER_VARIANTS.join(', ')}`),
    subscribers: read.int('BENCH_HANDOVER_SUBSCRIBERS', s.handover.subscribers, 1, 50_000),
    rate: read.number('BENCH_HANDOVER_RATE', s.handover.rate, 1, 200_000),
    payloadBytes,
    atSeconds: read.number('BENCH_HANDOVER_AT_SECONDS', s.handover.atSeconds, 0.2, 600),
    afterSeconds: read.number('BENCH_HANDOVER_AFTER_SECONDS', s.handover.afterSeconds, 0.5, 600),
    shards: read.int('BENCH_HANDOVER_SHARDS', s.handover.shards, 0, 64),
    drainMs: read.int('BENCH_HANDOVER_DRAIN_MS', s.handover.drainMs, 0, 60_000),
    reconnectMs: read.int('BENCH_HANDOVER_RECONNECT_MS', s.handover.reconnectMs, 1, 60_000),
    publishRetryMs: read.int('BENCH_HANDOVER_PUBLISH_RETRY_MS', s.handover.publishRetryMs, 0, 60_000),
    cpuWindowSeconds: s.handover.cpuWindowSeconds,
  };
  s.publishThroughput = {
    seconds: read.number('BENCH_PUBLISH_SECONDS', s.publishThroughput.seconds, 0.5, 600),
    connections: read.int('BENCH_PUBLISH_CONNECTIONS', s.publishThroughput.connections, 1, 1_000),
    pipelining: read.int('BENCH_PUBLISH_PIPELINING', s.publishThroughput.pipelining, 1, 100),
    pipelined: read.int('BENCH_PUBLISH_PIPELINED', s.publishThroughput.pipelined, 1, 100),
    clusterConnections: read.int('BENCH_PUBLISH_CLUSTER_CONNECTIONS', s.publishThroughput.clusterConnections, 1, 1_000),
    payloadBytes,
  };
  s.compression = {
    variants: read.list('BENCH_COMPRESSION_VARIANTS', s.compression.variants, (x) => (COMPRESSION_VARIANTS as readonly string[]).includes(x), `variants among ${COMPRESSION_VARIANTS.join(', ')}`),
    rounds: read.int('BENCH_COMPRESSION_ROUNDS', s.compression.rounds, 1, 20),
    subscribers: read.int('BENCH_COMPRESSION_SUBSCRIBERS', s.compression.subscribers, 1, 50_000),
    rates: read.ints('BENCH_COMPRESSION_RATES', s.compression.rates, 1, 200_000),
    seconds: read.number('BENCH_COMPRESSION_SECONDS', s.compression.seconds, 0.2, 600),
    warmupSeconds: s.compression.warmupSeconds,
    idleConnections: read.int('BENCH_COMPRESSION_IDLE_CONNECTIONS', s.compression.idleConnections, 1, 50_000),
    idleSettleMs: s.compression.idleSettleMs,
  };
  s.durability = {
    fanOutRounds: read.int('BENCH_DURABILITY_FANOUT_ROUNDS', s.durability.fanOutRounds, 1, 50),
    fanOutSeconds: read.number('BENCH_DURABILITY_FANOUT_SECONDS', s.durability.fanOutSeconds, 0.2, 600),
    publishRounds: read.int('BENCH_DURABILITY_ROUNDS', s.durability.publishRounds, 1, 50),
    publishSeconds: read.number('BENCH_DURABILITY_PUBLISH_SECONDS', s.durability.publishSeconds, 0.5, 600),
    concurrentConnections: read.int('BENCH_DURABILITY_CONNECTIONS', s.durability.concurrentConnections, 1, 1_000),
    events: read.int('BENCH_DURABILITY_EVENTS', s.durability.events, 10, 10_000_000),
    resumes: read.int('BENCH_DURABILITY_RESUMES', s.durability.resumes, 1, 100),
    payloadBytes: s.durability.payloadBytes,
  };
  s.micro = { taskMs: read.int('BENCH_MICRO_MS', s.micro.taskMs, 5, 60_000) };
  s.connectConcurrency = read.int('BENCH_CONNECT_CONCURRENCY', s.connectConcurrency, 1, 10_000);
  s.generatorProcesses = read.int('BENCH_GENERATOR_PROCESSES', s.generatorProcesses, 1, 16);
  s.subscribersPerProcess = read.int('BENCH_SUBSCRIBERS_PER_PROCESS', s.subscribersPerProcess, 1, 9_900);
  s.publisherConnections = read.int('BENCH_PUBLISHER_CONNECTIONS', s.publisherConnections, 1, 1_000);
  s.drainSeconds = read.number('BENCH_DRAIN_SECONDS', s.drainSeconds, 0.1, 600);
  s.timeoutSeconds = read.int('BENCH_TIMEOUT_SECONDS', s.timeoutSeconds, 5, 86_400);
  s.sweep = {
    batchSizes: read.ints('BENCH_SWEEP_BATCH_SIZES', s.sweep.batchSizes, 1, 65_536),
    batchMs: read.ints('BENCH_SWEEP_BATCH_MS', s.sweep.batchMs, 0, 1_000),
    segmentSizes: read.ints('BENCH_SWEEP_SEGMENT_SIZES', s.sweep.segmentSizes, 1, 1_000_000),
    shards: read.ints('BENCH_SWEEP_SHARDS', s.sweep.shards, 0, 64),
    seconds: read.number('BENCH_SWEEP_SECONDS', s.sweep.seconds, 0.2, 600),
    warmupSeconds: read.number('BENCH_SWEEP_WARMUP_SECONDS', s.sweep.warmupSeconds, 0, 60),
  };
  s.generatorNodeFlags = (env['BENCH_GENERATOR_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);
  s.serverNodeFlags = (env['BENCH_SERVER_NODE_FLAGS'] ?? '').split(/\s+/).filter(Boolean);

  if (read.problems.length > 0) throw new SettingsError(`invalid bench settings:\n  ${read.problems.join('\n  ')}`);
  return Object.freeze(s);
}
