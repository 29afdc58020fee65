// Main-thread side of the shards: starts SHARDS workers, hands them the acceptor's sockets, sends
// each sealed batch to all of them (shared memory: one message per shard per batch), answers their
// publish and metrics requests, and replaces a shard that fails.
//
// A worker holding uWS sockets must never be terminate()d or die with an uncaught exception: that
// aborts the whole process ("uv_loop_close() while having open handles"). Shards catch their own
// fatal errors, close their app and exit; here we only unplug their descriptor and start a new one.
import { Worker } from 'node:worker_threads';
import type { TemplatedApp } from 'uWebSockets.js';
import type { Config } from './config.js';
import { HttpError } from './errors.js';
import type { SharedBatch } from './event-batch.js';
import type { PublishItem } from './publish-request.js';
import { Coalescer, type FromShard, type PublishResult, type ShardInit, type ToShard } from './shard-protocol.js';
import { GLOBAL_SLOT, SHARD_SLOT, SHARD_SLOTS, type SharedCounters } from './shared-counters.js';
import './transport/uws-augment.js';

interface ShardHandle {
  index: number;
  worker: Worker;
  descriptor: number | undefined;
  ready: Promise<void>;
  drained: Promise<void>;
}

export class ShardPool {
  private readonly shards: ShardHandle[] = [];
  /** batches still (partly) inside the history window, for seeding new shards */
  private retained: SharedBatch[] = [];
  private retainedEvents = 0;
  private acceptor: TemplatedApp | undefined;
  private stopping = false;

  constructor(
    private readonly config: Config,
    private readonly shared: SharedCounters,
    private readonly epoch: string,
    private readonly publish: (items: PublishItem[], receivedAt: number) => Promise<string[]>,
    private readonly metricsText: () => Promise<string>,
  ) {}

  get historySize(): number {
    return Math.min(this.retainedEvents, this.config.historySize);
  }

  async start(): Promise<void> {
    for (let i = 0; i < this.config.shards; i++) this.shards.push(this.spawn(i));
    await Promise.all(this.shards.map((s) => s.ready));
  }

  /** From now on the acceptor hands every accepted socket to one of the shards, round-robin. */
  attach(acceptor: TemplatedApp): void {
    this.acceptor = acceptor;
    for (const s of this.shards) if (s.descriptor !== undefined) acceptor.addChildAppDescriptor(s.descriptor);
  }

  broadcast(batch: SharedBatch): void {
    if (this.retained.length > 0 && this.retained[0]!.epoch !== batch.epoch) {
      this.retained = [];
      this.retainedEvents = 0;
    }
    this.retained.push(batch);
    this.retainedEvents += batch.count;
    while (this.retainedEvents - this.retained[0]!.count >= this.config.historySize) {
      this.retainedEvents -= this.retained.shift()!.count;
    }
    const message: ToShard = { type: 'batch', batch };
    for (const s of this.shards) s.worker.postMessage(message);
  }

  /** Each shard ends its streams over `ms` and closes its app; resolves when all have. */
  async drain(ms: number): Promise<void> {
    this.stopping = true;
    for (const s of this.shards) s.worker.postMessage({ type: 'drain', ms } satisfies ToShard);
    await Promise.all(this.shards.map((s) => s.drained));
  }

  private spawn(index: number): ShardHandle {
    const init: ShardInit = {
      index,
      config: this.config,
      counters: this.shared.buffer,
      shardRows: this.shared.shardRows,
      epoch: this.epoch,
      history: this.retained,
    };
    const worker = new Worker(new URL('./shard-worker.js', import.meta.url), { workerData: init });
    let onReady!: () => void;
    let onDrained!: () => void;
    const handle: ShardHandle = {
      index,
      worker,
      descriptor: undefined,
      ready: new Promise((r) => (onReady = r)),
      drained: new Promise((r) => (onDrained = r)),
    };
    const replies = new Coalescer<PublishResult>((results) => worker.postMessage({ type: 'published', results } satisfies ToShard));
    worker.on('message', (m: FromShard) => {
      switch (m.type) {
        case 'ready':
          handle.descriptor = m.descriptor;
          this.acceptor?.addChildAppDescriptor(m.descriptor);
          onReady();
          return;
        case 'publish':
          for (const { reqId, items, receivedAt } of m.requests) {
            this.publish(items, receivedAt).then(
              (ids) => replies.push({ reqId, ids }),
              (err: unknown) => {
                const e = err instanceof HttpError ? err : new HttpError('INTERNAL');
                replies.push({ reqId, code: e.code, message: e.message });
              },
            );
          }
          return;
        case 'metrics':
          this.metricsText().then((text) => worker.postMessage({ type: 'metrics', reqId: m.reqId, text } satisfies ToShard));
          return;
        case 'drained':
          onDrained();
          return;
        case 'close-all-streams':
          for (const s of this.shards) s.worker.postMessage({ type: 'close-streams' } satisfies ToShard);
          return;
        case 'fatal':
          console.error(`shard ${index} failed: ${m.error}`);
          return;
      }
    });
    worker.on('error', (err) => console.error(`shard ${index} error:`, err));
    worker.on('exit', (code) => this.replace(handle, code, onDrained));
    return handle;
  }

  /** A shard exited: unplug it, give back its connection slots, and (unless stopping) start another. */
  private replace(handle: ShardHandle, code: number, onDrained: () => void): void {
    if (handle.descriptor !== undefined) this.acceptor?.removeChildAppDescriptor(handle.descriptor);
    const row = handle.index * SHARD_SLOTS;
    Atomics.sub(this.shared.global, GLOBAL_SLOT.CONNECTIONS, this.shared.perShard[row + SHARD_SLOT.CONNECTIONS]!);
    this.shared.perShard[row + SHARD_SLOT.CONNECTIONS] = 0;
    this.shared.perShard[row + SHARD_SLOT.QUEUED_BYTES] = 0;
    onDrained();
    if (this.stopping) return;
    console.error(`shard ${handle.index} exited (code ${code}); starting a replacement`);
    const next = this.spawn(handle.index);
    this.shards[this.shards.indexOf(handle)] = next;
  }
}
