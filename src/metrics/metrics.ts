// Prometheus text (prom-client) rendered by the main thread from the shared counters, so /metrics
// answers for the whole server whichever shard the scrape landed on.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { eventLogDown, SHARD_SLOT, SHARD_SLOTS, type SharedCounters } from '../threads/shared-counters.js';
import { phaseOf, PHASES } from '../handover/phase.js';

type ShardSlot = (typeof SHARD_SLOT)[keyof typeof SHARD_SLOT];

export class Metrics {
  readonly registry = new Registry();
  readonly publishLatency: Histogram;
  readonly batchEvents: Histogram;

  /**
   * `published`: events accepted so far, read at each scrape from where they are counted at the
   * moment they are answered, so a publisher that got its 202 finds them in the next scrape.
   */
  /** `shardThreads`: shards in threads of their own, each with its own connection to the event log (0 with SHARDS=0). */
  /** `logSyncs`: fdatasync calls on the DATA_DIR log so far (0 without one). */
  constructor(shared: SharedCounters, sources: { historySize: () => number; published: () => number; logSyncs: () => number; shardThreads: number }) {
    const registry = this.registry;
    const perShard = (kind: 'counter' | 'gauge', name: string, help: string, slot: ShardSlot): void => {
      const Metric = kind === 'counter' ? Counter : Gauge;
      new Metric({
        name,
        help,
        labelNames: ['shard'],
        registers: [registry],
        collect(this: Counter | Gauge) {
          this.reset();
          for (let s = 0; s < shared.shardRows; s++) {
            const value = shared.perShard[s * SHARD_SLOTS + slot]!;
            if (this instanceof Gauge) this.set({ shard: String(s) }, value);
            else this.inc({ shard: String(s) }, value);
          }
        },
      });
    };
    perShard('gauge', 'sse_connections', 'Open SSE streams', SHARD_SLOT.CONNECTIONS);
    perShard('counter', 'sse_deliveries_total', 'Events written (or queued) to connections', SHARD_SLOT.DELIVERIES);
    perShard('counter', 'sse_sent_bytes_total', 'SSE bytes written (or queued) to connections', SHARD_SLOT.BYTES_SENT);
    perShard('counter', 'sse_sent_uncompressed_bytes_total', 'SSE bytes before compression (sse_sent_bytes_total is the wire bytes)', SHARD_SLOT.BYTES_SENT_UNCOMPRESSED);
    perShard('counter', 'sse_slow_consumer_disconnects_total', 'Connections closed by SLOW_CONSUMER=disconnect', SHARD_SLOT.SLOW_DISCONNECTED);
    perShard('counter', 'sse_slow_consumer_dropped_events_total', 'Events skipped by SLOW_CONSUMER=drop', SHARD_SLOT.SLOW_DROPPED);
    perShard('gauge', 'sse_backpressure_bytes', 'Bytes held for backpressured connections', SHARD_SLOT.QUEUED_BYTES);
    perShard('gauge', 'sse_backpressure_peak_bytes', 'Most bytes ever held for one connection', SHARD_SLOT.QUEUED_BYTES_PEAK);
    perShard('counter', 'sse_fanout_passes_total', 'Times batches joined fan-out (a pass, or a pass growing at a segment boundary)', SHARD_SLOT.FANOUT_PASSES);
    perShard('counter', 'sse_fanout_events_total', 'Events fanned out by passes', SHARD_SLOT.FANOUT_EVENTS);
    perShard('counter', 'sse_fanout_segments_total', 'Fan-out segments written', SHARD_SLOT.SEGMENTS);
    perShard('counter', 'sse_fanout_segment_seconds_total', 'Time spent writing fan-out segments', SHARD_SLOT.SEGMENT_SECONDS);
    perShard('counter', 'sse_replayed_events_total', 'Events replayed from history on resume', SHARD_SLOT.REPLAYED_EVENTS);
    perShard('counter', 'sse_reset_frames_total', 'Reset frames sent', SHARD_SLOT.RESETS);
    perShard('counter', 'sse_heartbeats_total', 'Heartbeat comments sent', SHARD_SLOT.HEARTBEATS);
    perShard('counter', 'sse_shed_connections_total', 'Streams refused over MAX_CONNECTIONS or while draining', SHARD_SLOT.SHED_CONNECTIONS);
    perShard('gauge', 'sse_resume_waiters', 'Streams waiting (at most 2 s) for their shard to reach their Last-Event-ID', SHARD_SLOT.RESUME_WAITERS);
    perShard('counter', 'sse_token_expired_closes_total', 'Streams closed at their JWT exp', SHARD_SLOT.JWT_EXPIRED);
    new Counter({
      name: 'sse_events_published_total',
      help: 'Events accepted by this server and sequenced',
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        this.inc(sources.published());
      },
    });
    new Counter({
      name: 'sse_event_log_fsyncs_total',
      help: 'fdatasync calls on the DATA_DIR event log (DURABILITY=fsync: one per event-loop turn that wrote, shared by its publishes)',
      registers: [registry],
      collect(this: Counter) {
        this.reset();
        this.inc(sources.logSyncs());
      },
    });
    new Gauge({
      name: 'sse_history_events',
      help: 'Events retained for replay',
      registers: [registry],
      collect(this: Gauge) {
        this.set(sources.historySize());
      },
    });
    new Gauge({
      name: 'sse_event_log_up',
      help: '1 while every thread reaches the event log (Redis in cluster mode); 0 means some publishes are refused',
      registers: [registry],
      collect(this: Gauge) {
        this.set(eventLogDown(shared).length === 0 ? 1 : 0);
      },
    });
    new Gauge({
      name: 'sse_event_log_thread_up',
      help: 'Per thread that publishes (the main thread, each shard): 1 while its connection to the event log is ready',
      labelNames: ['thread'],
      registers: [registry],
      collect(this: Gauge) {
        this.reset();
        const down = new Set(eventLogDown(shared));
        for (let s = -1; s < sources.shardThreads; s++) {
          const thread = s < 0 ? 'main thread' : `shard ${s}`;
          this.set({ thread }, down.has(thread) ? 0 : 1);
        }
      },
    });
    new Gauge({
      name: 'sse_phase',
      help: '1 for the phase this process is in: serving, handing-over (its DATA_DIR log to a newer process), draining',
      labelNames: ['phase'],
      registers: [registry],
      collect(this: Gauge) {
        const now = phaseOf(shared.global);
        for (const phase of PHASES) this.set({ phase }, phase === now ? 1 : 0);
      },
    });
    this.publishLatency = new Histogram({
      name: 'sse_publish_latency_seconds',
      help: 'From a publish request body received to its events sequenced',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    });
    this.batchEvents = new Histogram({
      name: 'sse_batch_events',
      help: 'Events per batch handed to the shards (at most BATCH_SIZE)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers: [registry],
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
