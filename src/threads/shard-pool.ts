// Main-thread side of the shards: starts SHARDS workers, hands them the acceptor's sockets, sends
// each sealed batch to all of them (shared memory: one message per shard per batch), takes their
// numbered events (one server), answers their metrics and presence requests, and replaces a shard
// that fails.
//
// A worker holding uWS sockets must never be terminate()d or die with an uncaught exception: that
// aborts the whole process ("uv_loop_close() while having open handles"). Shards catch their own
// fatal errors and close their app; here we unplug their descriptor at once, tell them so (then
// they end), and start a new one when they have.
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/config.js';
import { keepYoungGenerationSmall } from '../config/v8-heap.js';
import { History } from '../fanout/history.js';
import { LogIndex, type IndexedRecord } from '../eventlog/log-index.js';
import type { JwksCache } from '../intake/jwks-cache.js';
import { batchFromShared, type SharedBatch } from '../sequencing/batch-layout.js';
import { SharedSequence } from '../sequencing/shared-sequence.js';
import type { Backend } from '../transport/routes.js';
import { createAcceptor, listen, type Acceptor, type Listening } from '../transport/uws-app.js';
import type { FromShard, ShardInit, ToShard } from './protocol.js';
import { keyedAnswer } from './request-reply.js';
import { unpackRuns } from './run-packing.js';
import type { ShardHost, ShardSinks } from './shard-host.js';
import { GLOBAL_SLOT, SHARD_SLOT, SHARD_SLOTS, type SharedCounters } from './shared-counters.js';

interface ShardHandle {
  index: number;
  /**
   * This shard thread's name among presence sources: its replacement (same index, new thread) is
   * another. Taken at spawn: a worker's threadId reads -1 once it has stopped.
   */
  presenceSource: string;
  worker: Worker;
  descriptor: number | undefined;
  ready: Promise<void>;
  stopped: Promise<void>;
  /** answers to 'flush-runs' still to come, in the order asked */
  flushed: Array<() => void>;
}

/**
 * A shard's young generation (V8's nursery: two semi-spaces and the space of large new objects, a
 * third each). Left to grow (V8's default reaches 48 MiB), accepting 8,000 connections grew it to
 * its limit and the process by 6 KiB per connection held; at 6 MiB, 2.4 KiB, at no more CPU: what
 * a shard allocates per request or per pass dies young, so collections stay short however often.
 */
const SHARD_YOUNG_GENERATION_MB = 6;

export class ShardPool implements ShardHost {
  private readonly shards: ShardHandle[] = [];
  /** the same window every shard holds, to seed a replacement shard */
  private readonly history: History;
  private readonly acceptor: Acceptor;
  private calls: { backend: Backend; sinks: ShardSinks } | undefined;
  private stopping = false;
  private aliases: [string, number][] = [];
  /** where the durable log holds the retained batches, to seed a replacement shard (never read here) */
  private readonly disk: LogIndex | undefined;

  constructor(
    private readonly config: Config,
    private readonly shared: SharedCounters,
    epoch: string,
    /** access control shared by all shards: the one JWKS fetcher of the process, the per-address table */
    private readonly access: { jwks?: JwksCache | undefined; addressCounters?: SharedArrayBuffer | undefined } = {},
  ) {
    this.history = new History(config.historyMemorySize, epoch);
    this.disk = config.dataDir === undefined ? undefined : new LogIndex(config.dataDir);
    this.acceptor = createAcceptor(config);
    access.jwks?.onChange((state) => {
      for (const s of this.shards) s.worker.postMessage({ type: 'jwks', state } satisfies ToShard);
    });
  }

  get historySize(): number {
    return this.history.size;
  }

  async start(backend: Backend, sinks: ShardSinks): Promise<void> {
    this.calls = { backend, sinks };
    for (let i = 0; i < this.config.shards; i++) this.shards.push(this.spawn(i, this.calls));
    await Promise.all(this.shards.map((s) => s.ready));
  }

  /** The acceptor hands every accepted socket to one of the shards, round-robin. */
  listen(host: string, port: number): Promise<Listening> {
    return listen(this.acceptor.app, host, port);
  }

  seed(batches: readonly SharedBatch[], aliases: ReadonlyMap<string, number>, stored: readonly IndexedRecord[] = []): void {
    for (const b of batches) this.history.append(batchFromShared(b));
    for (const r of stored) this.disk?.add(r);
    this.aliases = [...aliases];
  }

  deliver(batch: SharedBatch): void {
    this.history.append(batchFromShared(batch));
    this.disk?.addStored(batch);
    const message: ToShard = { type: 'batch', batch };
    for (const s of this.shards) s.worker.postMessage(message);
  }

  forgetSegmentsBefore(oldest: number): void {
    this.disk?.forgetBefore(oldest);
    for (const s of this.shards) s.worker.postMessage({ type: 'forget-segments', oldest } satisfies ToShard);
  }

  /** Each shard ends its streams over `ms` and closes its app; resolves when all have. */
  async shutdown(ms: number): Promise<void> {
    this.stopping = true;
    for (const s of this.shards) s.worker.postMessage({ type: 'shutdown', ms } satisfies ToShard);
    await Promise.all(this.shards.map((s) => s.stopped));
  }

  private spawn(index: number, { backend, sinks }: NonNullable<ShardPool['calls']>): ShardHandle {
    const init: ShardInit = {
      index,
      config: this.config,
      counters: this.shared.buffer,
      shardRows: this.shared.shardRows,
      epoch: this.history.epoch,
      history: this.history.batches.map((b) => b.shared),
      aliases: this.aliases,
      stored: [...(this.disk?.all ?? [])],
      ...(this.access.jwks ? { jwks: this.access.jwks.state() } : {}),
      ...(this.access.addressCounters ? { addressCounters: this.access.addressCounters } : {}),
    };
    const worker = new Worker(new URL('./shard-worker.js', import.meta.url), { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: SHARD_YOUNG_GENERATION_MB } });
    let onReady!: () => void;
    let onStopped!: () => void;
    const handle: ShardHandle = {
      index,
      presenceSource: `shard:${index}/${worker.threadId}`,
      worker,
      descriptor: undefined,
      ready: new Promise((r) => (onReady = r)),
      stopped: new Promise((r) => (onStopped = r)),
      flushed: [],
    };
    worker.on('message', (m: FromShard) => {
      switch (m.type) {
        case 'ready':
          keepYoungGenerationSmall(); // the worker's start reset it
          handle.descriptor = m.descriptor;
          this.acceptor.addShard(m.descriptor);
          onReady();
          return;
        case 'sequenced':
          return sinks.sequenced(unpackRuns(m.runs));
        case 'runs-flushed':
          return handle.flushed.shift()?.();
        case 'cluster-published':
          return sinks.clusterPublished(m.latenciesS);
        case 'presence':
          return sinks.presence.shardChanged(handle.presenceSource, m.changes);
        case 'ask':
          backend.ask(m.query).then((value) => worker.postMessage({ type: 'answer', reqId: m.reqId, value } satisfies ToShard));
          return;
        case 'publish-keyed':
          void keyedAnswer(() => backend.publish(m.items, m.receivedAt, m.keys)).then((answer) =>
            worker.postMessage({ type: 'published', reqId: m.reqId, answer } satisfies ToShard),
          );
          return;
        case 'metrics':
          backend.metricsText().then((text) => worker.postMessage({ type: 'metrics', reqId: m.reqId, text } satisfies ToShard));
          return;
        case 'shut-down':
          onStopped();
          return;
        case 'close-streams':
          for (const s of this.shards) s.worker.postMessage({ type: 'close-streams' } satisfies ToShard);
          return;
        case 'fatal':
          console.error(`shard ${index} failed: ${m.error}`);
          this.unplug(handle);
          worker.postMessage({ type: 'unplugged' } satisfies ToShard);
          return;
        case 'jwks-refetch':
          void (this.access.jwks?.refetch() ?? Promise.resolve()).then(() =>
            worker.postMessage({ type: 'jwks-refetched', reqId: m.reqId } satisfies ToShard),
          );
          return;
      }
    });
    worker.on('error', (err) => console.error(`shard ${index} error:`, err));
    worker.on('exit', (code) => this.replace(handle, code, onStopped));
    return handle;
  }

  /** The acceptor hands this shard no more sockets. */
  private unplug(handle: ShardHandle): void {
    if (handle.descriptor !== undefined) this.acceptor.removeShard(handle.descriptor);
    handle.descriptor = undefined;
  }

  /**
   * One server: numbers a dead shard claimed and never posted will never come (its messages all
   * came before 'exit'). Every other shard posts what it holds first, its answer after its runs on
   * the same port; then whatever is missing up to the sequence's position now was the dead one's.
   */
  private settleClaims(dead: ShardHandle): void {
    if (this.config.redisUrl !== undefined) return; // Redis numbers the events: nothing is claimed here
    const upTo = new SharedSequence(this.shared.position).last;
    void this.flushRunsOf(this.shards.filter((s) => s !== dead)).then(() => this.calls?.sinks.claimsSettled(upTo));
  }

  flushRuns(): Promise<void> {
    return this.flushRunsOf(this.shards);
  }

  /** Resolves once each of `shards` has posted every run it had claimed when asked. */
  private async flushRunsOf(shards: ShardHandle[]): Promise<void> {
    const flushed = (s: ShardHandle): Promise<void> =>
      Promise.race([
        new Promise<void>((resolve) => {
          s.flushed.push(resolve);
          s.worker.postMessage({ type: 'flush-runs' } satisfies ToShard);
        }),
        s.stopped, // a shard that fails meanwhile: its own exit settles its numbers
      ]);
    await Promise.all(shards.map(flushed));
  }

  /** A shard exited: unplug it, give back its connection slots, and (unless stopping) start another. */
  private replace(handle: ShardHandle, code: number, onStopped: () => void): void {
    this.unplug(handle);
    const row = handle.index * SHARD_SLOTS;
    Atomics.sub(this.shared.global, GLOBAL_SLOT.CONNECTIONS, this.shared.perShard[row + SHARD_SLOT.CONNECTIONS]!);
    this.shared.perShard[row + SHARD_SLOT.CONNECTIONS] = 0;
    this.shared.perShard[row + SHARD_SLOT.QUEUED_BYTES] = 0;
    this.shared.perShard[row + SHARD_SLOT.RESUME_WAITERS] = 0;
    this.calls?.sinks.presence.shardGone(handle.presenceSource); // its streams are gone with it
    onStopped();
    this.settleClaims(handle);
    if (this.stopping || this.calls === undefined) return;
    console.error(`shard ${handle.index} exited (code ${code}); starting a replacement`);
    const next = this.spawn(handle.index, this.calls);
    this.shards[this.shards.indexOf(handle)] = next;
  }
}
