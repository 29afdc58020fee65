// Cluster mode: many servers, one event stream, on Redis. One Redis Stream holds every topic's
// events in one global order (its entry ids are `<seq>-0`, with seq from one INCRBY counter, so ids
// look the same as in single-server mode) and doubles as the shared history, capped near
// HISTORY_SIZE. Each server publishes with one Lua call and reads the stream once with XREAD,
// feeding its own batcher: one encode per event per server.
//
// Each entry carries its epoch. A Redis that comes back empty gets a new epoch, so old ids resolve
// to a reset frame instead of silently meaning new events.
import type { Redis } from 'ioredis';
import type { PublishItem } from '../intake/publish-request.js';
import { openRedis } from './redis-connection.js';
import { EPOCH_LUA, EpochView, RedisPublisher, script, STREAM, type Script } from './redis-publisher.js';

export interface LoggedEvent {
  epoch: string;
  seq: number;
  item: PublishItem;
}

/** Takes the events read from the log, in stream order. */
export type LoggedEventSink = (events: LoggedEvent[]) => void;

type Fields = string[];
type XReadReply = Array<[string, Array<[string, Fields]>]> | null;

export class RedisEventLog {
  private readonly publisher: RedisPublisher;
  private readonly reader: Redis;
  private readonly epochScript: Script;
  /** the epoch this server reads, and the highest seq any of its threads has read or been given there */
  private readonly view: EpochView;
  private cursor = '0-0';
  private stopped = false;
  private checkEpoch = true;
  private up = false;
  private sink: LoggedEventSink = () => {};

  constructor(
    url: string,
    private readonly options: {
      maxLen: number;
      onHealth: (up: boolean) => void;
      /** shared with the shards' publishers (SharedCounters.redisEpoch) */
      epochCells?: BigInt64Array;
      /** while events keep coming, at most one read per window (BATCH_MS): fewer, larger reads */
      readWindowMs?: number;
    },
  ) {
    this.view = new EpochView(options.epochCells);
    // A publish numbered in another epoch: the read loop switches to it.
    const health = (): void => this.health();
    this.publisher = new RedisPublisher(url, options.maxLen, this.view, { otherEpoch: () => (this.checkEpoch = true), onReady: health });
    // The reader blocks in XREAD: its own connection, no command timeout.
    this.reader = openRedis(url, health, { commandTimeout: undefined });
    this.reader.on('ready', () => {
      this.checkEpoch = true;
    });
    this.epochScript = script(this.reader, 'sseEpoch', EPOCH_LUA);
  }

  get currentEpoch(): string | undefined {
    return this.view.epoch;
  }

  /** Connects and learns the epoch in force, which the shards' histories start with. */
  async connect(): Promise<string> {
    await Promise.all([this.publisher.connection.connect(), this.reader.connect()]);
    await this.syncEpoch();
    return this.view.epoch!;
  }

  /** Reads the retained stream from its beginning into `sink` (that fills the history), then follows it. */
  async start(sink: LoggedEventSink): Promise<void> {
    this.sink = sink;
    while (await this.readOnce(false));
    void this.readLoop();
  }

  /** This thread's publishes (a shard has its own RedisPublisher). */
  publish(items: readonly PublishItem[]): Promise<string[]> {
    return this.publisher.publish(items);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.publisher.stop();
  }

  private health(): void {
    const up = this.publisher.connection.status === 'ready' && this.reader.status === 'ready';
    if (up === this.up) return;
    this.up = up;
    this.options.onHealth(up);
  }

  /**
   * Reads what follows the cursor (waiting up to 1 s when `block`); false when there was nothing of
   * this epoch. An entry of another epoch (Redis was emptied: a new stream, numbered from 1, past a
   * cursor that was below it) ends the read undelivered: the epoch switch reads that stream from its start.
   */
  private async readOnce(block: boolean): Promise<boolean> {
    const reply = (
      block
        ? await this.reader.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', STREAM, this.cursor)
        : await this.reader.xread('COUNT', 1000, 'STREAMS', STREAM, this.cursor)
    ) as XReadReply;
    if (reply === null) return false;
    const out: LoggedEvent[] = [];
    const epoch = this.view.epoch!;
    for (const [id, f] of reply[0]![1]) {
      // fields: p <epoch> t <topic> e <event or ''> d <data>
      if (f[1] !== epoch) {
        this.checkEpoch = true;
        break;
      }
      const event = f[5] === '' ? undefined : f[5]!;
      const item: PublishItem = event === undefined ? { topic: f[3]!, data: f[7]! } : { topic: f[3]!, event, data: f[7]! };
      out.push({ epoch, seq: Number(id.slice(0, id.indexOf('-'))), item });
      this.cursor = id;
    }
    if (out.length === 0) return false;
    this.view.saw(epoch, out[out.length - 1]!.seq);
    this.sink(out);
    return true;
  }

  private async readLoop(): Promise<void> {
    const windowMs = this.options.readWindowMs ?? 0;
    while (!this.stopped) {
      try {
        if (this.checkEpoch) await this.syncEpoch();
        const started = performance.now();
        // Idle: a cheap moment to notice a Redis that was emptied without us losing the connection.
        if (!(await this.readOnce(true))) this.checkEpoch = true;
        // Busy: one XREAD per window, not one per script call (a round trip and a batch each;
        // measured: up to 34 µs of the main thread per publish at 10 connections). After a quiet
        // period the first event is read at once, as the batcher would send it.
        else if (windowMs > 0) await new Promise((r) => setTimeout(r, started + windowMs - performance.now()));
      } catch {
        if (this.stopped) return;
        this.health();
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * The epoch in Redis decides where reading resumes: the same epoch continues after the cursor
   * (events published through other servers meanwhile are not skipped); a new one (Redis came back
   * empty) starts from the beginning of the new stream.
   */
  private async syncEpoch(): Promise<void> {
    const epoch = (await this.epochScript(...this.view.args())) as string;
    this.view.noteEpoch(epoch);
    if (epoch !== this.view.epoch) {
      if (this.view.epoch !== undefined) console.error(`event log epoch changed (${this.view.epoch} -> ${epoch}): Redis lost its history; clients will get reset frames`);
      this.view.moveTo(epoch, 0);
      this.cursor = '0-0';
    }
    this.checkEpoch = false;
  }
}
