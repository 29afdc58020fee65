// Metrics: Prometheus text rendered from the shared counters, whichever shard wrote them.
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../../src/metrics/metrics.js';
import { createSharedCounters, GLOBAL_SLOT, SHARD_SLOT, ShardCounters } from '../../../src/threads/shared-counters.js';

/** The sample lines of `name` (with or without labels) in Prometheus text. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name} `) || line.startsWith(`${name}{`));
}

const NONE = { historySize: () => 0, published: () => 0, logSyncs: () => 0, shardThreads: 1 };

describe('Metrics', () => {
  it('renders a per-shard gauge from every row of the shared buffer, with a shard label', async () => {
    const shared = createSharedCounters(2);
    new ShardCounters(shared, 0).set(SHARD_SLOT.CONNECTIONS, 3);
    new ShardCounters(shared, 1).set(SHARD_SLOT.CONNECTIONS, 5);
    const text = await new Metrics(shared, NONE).text();
    expect(samples(text, 'sse_connections')).toEqual(['sse_connections{shard="0"} 3', 'sse_connections{shard="1"} 5']);
  });

  it('renders a per-shard counter with its current values at each scrape, not a sum of scrapes', async () => {
    const shared = createSharedCounters(2);
    const rows = [new ShardCounters(shared, 0), new ShardCounters(shared, 1)];
    const metrics = new Metrics(shared, NONE);
    rows[0]!.add(SHARD_SLOT.DELIVERIES, 7);
    rows[1]!.add(SHARD_SLOT.DELIVERIES, 11);
    expect(samples(await metrics.text(), 'sse_deliveries_total')).toEqual(['sse_deliveries_total{shard="0"} 7', 'sse_deliveries_total{shard="1"} 11']);
    rows[1]!.add(SHARD_SLOT.DELIVERIES, 1);
    expect(samples(await metrics.text(), 'sse_deliveries_total')).toEqual(['sse_deliveries_total{shard="0"} 7', 'sse_deliveries_total{shard="1"} 12']);
  });

  it('each slot feeds its own metric', async () => {
    const shared = createSharedCounters(1);
    const row = new ShardCounters(shared, 0);
    row.add(SHARD_SLOT.RESETS, 2);
    row.add(SHARD_SLOT.JWT_EXPIRED, 4);
    const text = await new Metrics(shared, NONE).text();
    expect(samples(text, 'sse_reset_frames_total')).toEqual(['sse_reset_frames_total{shard="0"} 2']);
    expect(samples(text, 'sse_token_expired_closes_total')).toEqual(['sse_token_expired_closes_total{shard="0"} 4']);
    expect(samples(text, 'sse_replayed_events_total')).toEqual(['sse_replayed_events_total{shard="0"} 0']);
  });

  it('sse_event_log_up is 1 only while every thread reaches the event log; sse_event_log_thread_up names the one that does not', async () => {
    const shared = createSharedCounters(2);
    const metrics = new Metrics(shared, { ...NONE, shardThreads: 2 });
    const threadsUp = ['sse_event_log_thread_up{thread="main thread"} 1', 'sse_event_log_thread_up{thread="shard 0"} 1', 'sse_event_log_thread_up{thread="shard 1"} 1'];
    expect(samples(await metrics.text(), 'sse_event_log_up')).toEqual(['sse_event_log_up 1']);
    expect(samples(await metrics.text(), 'sse_event_log_thread_up')).toEqual(threadsUp);
    new ShardCounters(shared, 1).set(SHARD_SLOT.EVENT_LOG_DOWN, 1);
    expect(samples(await metrics.text(), 'sse_event_log_up')).toEqual(['sse_event_log_up 0']);
    expect(samples(await metrics.text(), 'sse_event_log_thread_up')).toEqual([threadsUp[0], threadsUp[1], 'sse_event_log_thread_up{thread="shard 1"} 0']);
    new ShardCounters(shared, 1).set(SHARD_SLOT.EVENT_LOG_DOWN, 0);
    Atomics.store(shared.global, GLOBAL_SLOT.DEGRADED, 1);
    expect(samples(await metrics.text(), 'sse_event_log_up')).toEqual(['sse_event_log_up 0']);
    expect(samples(await metrics.text(), 'sse_event_log_thread_up')[0]).toBe('sse_event_log_thread_up{thread="main thread"} 0');
    Atomics.store(shared.global, GLOBAL_SLOT.DEGRADED, 0);
    expect(samples(await metrics.text(), 'sse_event_log_up')).toEqual(['sse_event_log_up 1']);
  });

  it('sse_history_events asks the function it was given at each scrape', async () => {
    let size = 42;
    let calls = 0;
    const metrics = new Metrics(createSharedCounters(1), {
      ...NONE,
      historySize: () => {
        calls++;
        return size;
      },
    });
    expect(samples(await metrics.text(), 'sse_history_events')).toEqual(['sse_history_events 42']);
    size = 10_000;
    expect(samples(await metrics.text(), 'sse_history_events')).toEqual(['sse_history_events 10000']);
    expect(calls).toBe(2);
  });

  it.each([
    ['sse_events_published_total', 'published'],
    ['sse_event_log_fsyncs_total', 'logSyncs'],
  ] as const)('%s is read from its source at each scrape, not summed over scrapes', async (name, source) => {
    let value = 3;
    const metrics = new Metrics(createSharedCounters(1), { ...NONE, [source]: () => value });
    expect(samples(await metrics.text(), name)).toEqual([`${name} 3`]);
    value = 5;
    expect(samples(await metrics.text(), name)).toEqual([`${name} 5`]);
  });

  it('the main thread\'s own histograms render too', async () => {
    const metrics = new Metrics(createSharedCounters(1), NONE);
    metrics.batchEvents.observe(5);
    const text = await metrics.text();
    expect(samples(text, 'sse_batch_events_count')).toEqual(['sse_batch_events_count 1']);
  });
});
