// Cluster mode, the writing half of the Redis log: numbers events with one Lua call on its own
// connection. The main thread has one (its own publishes) and so does every shard: a shard's
// publish goes to Redis and back without crossing to the main thread, which only reads the stream
// (redis-event-log.ts) and keeps the epoch all of them pass (EpochView, in shared memory). Through the main thread, SHARDS=1 cost 49-69 µs of CPU per publish at 100
// connections against 38 µs with SHARDS=0, the two thread hops being the difference.
import type { Redis } from 'ioredis';
import { HttpError } from '../intake/errors.js';
import type { PublishItem } from '../intake/publish-request.js';
import { formatId, newEpoch } from './event-ids.js';
import { openRedis, whenReady } from './redis-connection.js';

export const STREAM = 'sse:events';
const SEQ = 'sse:seq';
const EPOCH = 'sse:epoch';

// Both scripts take KEYS = stream, seq, epoch and ARGV[1] = a candidate epoch, ARGV[2] and ARGV[3] =
// the epoch the caller is in and the highest seq it has seen there. A new epoch (with an empty
// stream and counter) starts when none is set (a fresh or emptied Redis), or when the counter is
// below what the caller has seen: Redis was restored from an older snapshot and would give the
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

export const EPOCH_LUA = `${ENSURE_EPOCH} return epoch`;

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
/** A publish that finds this thread's connection reconnecting waits this long for it before its 503 (ms). */
const READY_WAIT_MS = 1_000;

export type Script = (...args: string[]) => Promise<unknown>;

/** A Lua script sent by its SHA1 (EVALSHA; ioredis sends the text again only if Redis lost it). */
export function script(redis: Redis, name: string, lua: string): Script {
  redis.defineCommand(name, { numberOfKeys: 3, lua });
  const command = (redis as unknown as Record<string, Script>)[name]!.bind(redis);
  return (...args) => command(STREAM, SEQ, EPOCH, ...args);
}

/** Set beside an epoch's 48 bits: zeroed memory (new shared counters) holds no epoch, and "000000000000" is one. */
const PRESENT = 1n << 48n;
const epochCell = (epoch: string): bigint => BigInt(`0x${epoch}`) | PRESENT;

/**
 * What the callers of the scripts know of the epoch (their ARGV[1..3]), in shared memory: the main
 * thread's reader moves it, and every thread's publishes raise the seq seen. A shard's publish must
 * pass the highest seq this server has seen, or a Redis restored from an older snapshot would give
 * it an id already given out. Cells, zeroed at first: [0] the epoch (its 12 hex digits as a number,
 * with PRESENT), [1] the seq.
 */
export class EpochView {
  /** the epoch a script starts if Redis has none: drawn again only once one was used */
  private candidate = newEpoch();

  constructor(private readonly cells: BigInt64Array = new BigInt64Array(new SharedArrayBuffer(16))) {}

  get epoch(): string | undefined {
    const e = Atomics.load(this.cells, 0);
    return e === 0n ? undefined : (e ^ PRESENT).toString(16).padStart(12, '0');
  }

  get seen(): number {
    return Number(Atomics.load(this.cells, 1));
  }

  /** The main thread's reader only: from now on in `epoch`, having seen up to `seen`. */
  moveTo(epoch: string, seen: number): void {
    // the seq first: a reader that finds the new epoch never pairs it with the old epoch's seq
    Atomics.store(this.cells, 1, BigInt(seen));
    Atomics.store(this.cells, 0, epochCell(epoch));
  }

  /** Raises the seq seen, if `epoch` is still the one in view. */
  saw(epoch: string, seq: number): boolean {
    const e = epochCell(epoch);
    const s = BigInt(seq);
    for (;;) {
      if (Atomics.load(this.cells, 0) !== e) return false;
      const old = Atomics.load(this.cells, 1);
      if (old >= s || Atomics.compareExchange(this.cells, 1, old, s) === old) return true;
    }
  }

  args(): string[] {
    for (;;) {
      const epoch = this.epoch;
      const seen = this.seen;
      if (this.epoch === epoch) return [this.candidate, epoch ?? '', String(seen)];
    }
  }

  /** A script answered with `epoch`: if it is the candidate, the candidate has been used. */
  noteEpoch(epoch: string): void {
    if (epoch === this.candidate) this.candidate = newEpoch();
  }
}

interface QueuedPublish {
  items: readonly PublishItem[];
  resolve(ids: string[]): void;
  reject(err: unknown): void;
}

export class RedisPublisher {
  readonly connection: Redis;
  private readonly publishScript: Script;
  /** publishes waiting for the next script call */
  private queue: QueuedPublish[] = [];
  /** a script call is on its way: what arrives meanwhile goes in the next one */
  private sending = false;
  private readonly otherEpoch: () => void;

  /**
   * `otherEpoch`: a publish was numbered in an epoch that is not the view's (Redis was emptied or
   * restored). `onReady`: this connection became ready or stopped being so (for health).
   */
  constructor(
    url: string,
    private readonly maxLen: number,
    private readonly view: EpochView,
    hooks: { otherEpoch?: () => void; onReady?: (ready: boolean) => void } = {},
  ) {
    this.otherEpoch = hooks.otherEpoch ?? (() => {});
    this.connection = openRedis(url, hooks.onReady ?? (() => {}));
    this.publishScript = script(this.connection, 'ssePublish', PUBLISH_LUA);
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

  async stop(): Promise<void> {
    await this.connection.quit().catch(() => this.connection.disconnect());
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
    const args: string[] = [...this.view.args(), String(this.maxLen), String(count)];
    for (const r of requests) for (const it of r.items) args.push(it.topic, it.event ?? '', it.data);
    let reply: [string, number];
    try {
      await whenReady(this.connection, READY_WAIT_MS);
      reply = (await this.publishScript(...args)) as [string, number];
    } catch (err) {
      const e = new HttpError('UNAVAILABLE', `event log (Redis) unreachable: ${(err as Error).message}`);
      for (const r of requests) r.reject(e);
      return;
    }
    const [epoch, first] = reply;
    this.view.noteEpoch(epoch);
    if (!this.view.saw(epoch, first + count - 1)) this.otherEpoch();
    let seq = first;
    for (const r of requests) r.resolve(r.items.map(() => formatId(epoch, seq++)));
  }
}
