// Cluster mode: many servers, one event stream, on Redis. One Redis Stream holds every topic's
// events in one global order (its entry ids are `<seq>-0`, with seq from one INCRBY counter, so ids
// look the same as in single-server mode) and doubles as the shared history, capped near
// HISTORY_SIZE. Each server publishes with one Lua call and reads the stream once with XREAD,
// feeding its own batcher: one encode per event per server.
//
// Each entry carries its epoch. A Redis that comes back empty gets a new epoch, so old ids resolve
// to a reset frame instead of silently meaning new events.
import { Redis } from 'ioredis';
import { HttpError } from '../intake/errors.js';
import type { PublishItem } from '../intake/publish-request.js';
import { formatId, newEpoch } from './event-ids.js';

const STREAM = 'sse:events';
const SEQ = 'sse:seq';
const EPOCH = 'sse:epoch';

// Both scripts take KEYS = stream, seq, epoch and ARGV[1] = a candidate epoch, ARGV[2] and ARGV[3] =
// the epoch this server is in and the highest seq it has seen there. A new epoch (with an empty
// stream and counter) starts when none is set (a fresh or emptied Redis), or when the counter is
// below what this server has seen: Redis was restored from an older snapshot and would give the
// same ids to other events. Old ids must resolve to a reset, never to someone else's event.
const ENSURE_EPOCH = `
local epoch = redis.call('GET', KEYS[3])
local seq = tonumber(redis.call('GET', KEYS[2]) or '0')
if not epoch or (epoch == ARGV[2] and seq < tonumber(ARGV[3])) then
  epoch = ARGV[1]
  redis.call('SET', KEYS[3], epoch)
  redis.call('DEL', KEYS[1], KEYS[2])
end
`;

const EPOCH_LUA = `${ENSURE_EPOCH} return epoch`;

// ARGV[4] = maxlen, ARGV[5] = n, then topic/event/data per item; an empty event means no event name.
const PUBLISH_LUA = `${ENSURE_EPOCH}
local n = tonumber(ARGV[5])
local last = redis.call('INCRBY', KEYS[2], n)
local first = last - n + 1
for i = 0, n - 1 do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], (first + i) .. '-0',
    'p', epoch, 't', ARGV[6 + 3 * i], 'e', ARGV[7 + 3 * i], 'd', ARGV[8 + 3 * i])
end
return {epoch, first}
`;

/** Most events in one script call: bounds its argument list and how long Redis runs it. */
const MAX_ITEMS_PER_CALL = 1_000;

export interface LoggedEvent {
  epoch: string;
  seq: number;
  item: PublishItem;
}

/** Takes the events read from the log, in stream order. */
export type LoggedEventSink = (events: LoggedEvent[]) => void;

interface QueuedPublish {
  items: readonly PublishItem[];
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

type Fields = string[];
type XReadReply = Array<[string, Array<[string, Fields]>]> | null;
type Script = (...args: string[]) => Promise<unknown>;

/** A Lua script sent by its SHA1 (EVALSHA; ioredis sends the text again only if Redis lost it). */
function script(redis: Redis, name: string, lua: string): Script {
  redis.defineCommand(name, { numberOfKeys: 3, lua });
  const command = (redis as unknown as Record<string, Script>)[name]!.bind(redis);
  return (...args) => command(STREAM, SEQ, EPOCH, ...args);
}

export class RedisEventLog {
  private readonly commands: Redis;
  private readonly reader: Redis;
  private readonly publishScript: Script;
  private readonly epochScript: Script;
  /** the epoch a script starts if Redis has none: drawn again only once one was used */
  private candidateEpoch = newEpoch();
  private cursor = '0-0';
  private epoch: string | undefined;
  /** the highest seq this server has read or been given in `epoch` */
  private seen = 0;
  private stopped = false;
  private checkEpoch = true;
  private up = false;
  private sink: LoggedEventSink = () => {};
  /** publishes waiting for the next script call */
  private queue: QueuedPublish[] = [];
  /** a script call is on its way: what arrives meanwhile goes in the next one */
  private sending = false;

  constructor(
    url: string,
    private readonly maxLen: number,
    private readonly onHealth: (up: boolean) => void,
  ) {
    const options = {
      // Fail publishes at once while Redis is away (a 503), instead of queueing them in memory.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
      retryStrategy: (attempt: number) => Math.min(50 * attempt, 1_000),
      lazyConnect: true,
    };
    this.commands = new Redis(url, options);
    // The reader blocks in XREAD: its own connection, no command timeout.
    this.reader = new Redis(url, { ...options, commandTimeout: undefined });
    for (const c of [this.commands, this.reader]) {
      c.on('error', () => {}); // reported through health, not as unhandled errors
      c.on('ready', () => this.health());
      c.on('close', () => this.health());
    }
    this.reader.on('ready', () => {
      this.checkEpoch = true;
    });
    this.publishScript = script(this.commands, 'ssePublish', PUBLISH_LUA);
    this.epochScript = script(this.reader, 'sseEpoch', EPOCH_LUA);
  }

  get currentEpoch(): string | undefined {
    return this.epoch;
  }

  /** Connects and learns the epoch in force, which the shards' histories start with. */
  async connect(): Promise<string> {
    await Promise.all([this.commands.connect(), this.reader.connect()]);
    await this.syncEpoch();
    return this.epoch!;
  }

  /** Reads the retained stream from its beginning into `sink` (that fills the history), then follows it. */
  async start(sink: LoggedEventSink): Promise<void> {
    this.sink = sink;
    while (await this.readOnce(false));
    void this.readLoop();
  }

  /**
   * One script call (one round trip, one socket write) at a time: publishes that arrive while it is
   * on its way share the next call. Idle, a publish leaves on the next turn; busy, calls grow
   * instead of multiplying. Each request's events stay consecutive, in the order the requests came.
   */
  publish(items: readonly PublishItem[]): Promise<string[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (this.sending) return;
      this.sending = true;
      setImmediate(() => void this.sendQueued());
    });
  }

  private async sendQueued(): Promise<void> {
    while (this.queue.length > 0) {
      let n = 0;
      let count = 0;
      for (; n < this.queue.length && (n === 0 || count + this.queue[n]!.items.length <= MAX_ITEMS_PER_CALL); n++) count += this.queue[n]!.items.length;
      await this.send(this.queue.splice(0, n), count);
    }
    this.sending = false;
  }

  /** Never throws: a failed call rejects its publishes. */
  private async send(requests: QueuedPublish[], count: number): Promise<void> {
    const args: string[] = [...this.epochArgs(), String(this.maxLen), String(count)];
    for (const r of requests) for (const it of r.items) args.push(it.topic, it.event ?? '', it.data);
    let reply: [string, number];
    try {
      reply = (await this.publishScript(...args)) as [string, number];
    } catch (err) {
      const e = new HttpError('UNAVAILABLE', `event log (Redis) unreachable: ${(err as Error).message}`);
      for (const r of requests) r.reject(e);
      return;
    }
    const [epoch, first] = reply;
    this.noteEpoch(epoch);
    if (epoch !== this.epoch) this.checkEpoch = true; // the read loop switches to it
    else this.seen = Math.max(this.seen, first + count - 1);
    let seq = first;
    for (const r of requests) r.resolve(r.items.map(() => formatId(epoch, seq++)));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.commands.quit().catch(() => {});
  }

  /** ARGV[1..3] of both scripts. */
  private epochArgs(): string[] {
    return [this.candidateEpoch, this.epoch ?? '', String(this.seen)];
  }

  /** A script answered with `epoch`: if it is the candidate, the candidate has been used. */
  private noteEpoch(epoch: string): void {
    if (epoch === this.candidateEpoch) this.candidateEpoch = newEpoch();
  }

  private health(): void {
    const up = this.commands.status === 'ready' && this.reader.status === 'ready';
    if (up === this.up) return;
    this.up = up;
    this.onHealth(up);
  }

  /** Reads what follows the cursor (waiting up to 1 s when `block`); false when there was nothing. */
  private async readOnce(block: boolean): Promise<boolean> {
    const reply = (
      block
        ? await this.reader.xread('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', STREAM, this.cursor)
        : await this.reader.xread('COUNT', 1000, 'STREAMS', STREAM, this.cursor)
    ) as XReadReply;
    if (reply === null) return false;
    const entries = reply[0]![1];
    const out: LoggedEvent[] = [];
    for (const [id, f] of entries) {
      // fields: p <epoch> t <topic> e <event or ''> d <data>
      const event = f[5] === '' ? undefined : f[5]!;
      const item: PublishItem = event === undefined ? { topic: f[3]!, data: f[7]! } : { topic: f[3]!, event, data: f[7]! };
      out.push({ epoch: f[1]!, seq: Number(id.slice(0, id.indexOf('-'))), item });
    }
    this.cursor = entries[entries.length - 1]![0];
    this.seen = Math.max(this.seen, out[out.length - 1]!.seq);
    this.sink(out);
    return true;
  }

  private async readLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.checkEpoch) await this.syncEpoch();
        // Idle: a cheap moment to notice a Redis that was emptied without us losing the connection.
        if (!(await this.readOnce(true))) this.checkEpoch = true;
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
    const epoch = (await this.epochScript(...this.epochArgs())) as string;
    this.noteEpoch(epoch);
    if (epoch !== this.epoch) {
      this.seen = 0;
      if (this.epoch !== undefined) console.error(`event log epoch changed (${this.epoch} -> ${epoch}): Redis lost its history; clients will get reset frames`);
      this.epoch = epoch;
      this.cursor = '0-0';
    }
    this.checkEpoch = false;
  }
}
