// SHARDS=0: one shard and its HTTP surface in the main thread, listening itself. The same Shard and
// ShardHttp a worker runs, without the thread hop.
import type { Config } from '../config/config.js';
import { Shard } from '../fanout/shard.js';
import { deliverChanges } from '../fanout/topic-counts.js';
import { AccessControl, type SharedAccess } from '../intake/access-control.js';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import type { IndexedRecord } from '../eventlog/log-index.js';
import { ShardHttp, type Backend } from '../transport/routes.js';
import { listen, type Listening } from '../transport/uws-app.js';
import type { ShardHost, ShardSinks } from './shard-host.js';
import type { SharedCounters } from './shared-counters.js';

export class InThreadShard implements ShardHost {
  private readonly shard: Shard;
  private http: ShardHttp | undefined;

  constructor(
    private readonly config: Config,
    shared: SharedCounters,
    epoch: string,
    /** SHARDS=0: the JWKS cache itself and the per-address table, used directly */
    private readonly access: SharedAccess = {},
  ) {
    this.shard = new Shard(config, 0, shared, epoch);
  }

  get historySize(): number {
    return this.shard.history.size;
  }

  /** Sequencing happens in this thread, through `backend.publish`: no runs or publishes come from elsewhere. */
  async start(backend: Backend, { presence }: ShardSinks): Promise<void> {
    deliverChanges(this.shard.presence, (changes) => presence.shardChanged('shard:0', changes));
    const http: ShardHttp = new ShardHttp({
      config: this.config,
      shard: this.shard,
      access: new AccessControl(this.config, this.access),
      backend,
      // no crash-shard here: there is no shard to replace
      debug: this.config.debugFaults ? { closeStreams: () => http.events.closeAll() } : undefined,
    });
    this.http = http;
  }

  listen(host: string, port: number): Promise<Listening> {
    return listen(this.started().app, host, port);
  }

  seed(batches: readonly SharedBatch[], aliases: ReadonlyMap<string, number>, stored: readonly IndexedRecord[] = []): void {
    this.shard.seed(batches, stored);
    this.shard.aliases = aliases;
  }

  deliver(batch: SharedBatch): void {
    this.shard.receive(batch);
  }

  forgetSegmentsBefore(oldest: number): void {
    this.shard.disk?.forgetBefore(oldest);
  }

  /** Numbered in this thread, and handed on at once. */
  flushRuns(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(ms: number): Promise<void> {
    return this.started().shutdown(ms);
  }

  private started(): ShardHttp {
    if (this.http === undefined) throw new Error('InThreadShard used before start()');
    return this.http;
  }
}
