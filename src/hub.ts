// Topics to subscribers, and fan-out of batches to them. Transport- and thread-agnostic: a shard
// (or the single-process server) owns one Hub; subscribers are whatever implements `Subscriber`.
//
// Subscribers with the same topic set form a group; a batch's bytes for a group are gathered once
// (a zero-copy view when the group's events are contiguous) and the same bytes go to every member.
import type { EventBatch } from './event-batch.js';
import { lastSeqOf } from './event-batch.js';

export interface Subscriber {
  readonly topics: ReadonlySet<string>;
  /** the last sequence number this subscriber has been given (replayed or live) */
  lastSeq: number;
  /** one corked write of `bytes`, carrying `events` events */
  send(bytes: Uint8Array, events: number): void;
}

export interface FanoutStats {
  onPass(events: number): void;
  onSegment(seconds: number): void;
}

interface Group {
  readonly topics: ReadonlySet<string>;
  readonly members: Set<Subscriber>;
}

/**
 * One pass delivers every batch that arrived before it started, and grows at each segment boundary
 * with the batches that arrived meanwhile: the connections it has not reached yet get old and new
 * events in one write, so a shard that falls behind catches up with fewer writes, not more.
 */
class Pass {
  readonly firstSeq: number;
  lastSeq: number;
  /** batches that joined after the sweep began: members visited before lack them */
  readonly grownBy: EventBatch[] = [];
  readonly groups: Group[] = [];
  private readonly groupSet = new Set<Group>();
  private readonly byTopic = new Map<string, number[]>(); // topic -> pass-wide event indexes
  private readonly batchOf: EventBatch[] = [];
  private readonly indexInBatch: number[] = [];
  /** per group, per starting point: the bytes its members get (most share one) */
  private payloads = new Map<Group, Map<number, [Uint8Array, number]>>();

  constructor(batches: EventBatch[], groupsOf: (topic: string) => Iterable<Group>) {
    this.firstSeq = batches[0]!.firstSeq;
    this.lastSeq = this.firstSeq - 1;
    this.index(batches, groupsOf);
  }

  grow(batches: EventBatch[], groupsOf: (topic: string) => Iterable<Group>): void {
    this.grownBy.push(...batches);
    this.index(batches, groupsOf);
  }

  private index(batches: EventBatch[], groupsOf: (topic: string) => Iterable<Group>): void {
    let k = this.batchOf.length;
    for (const b of batches) {
      for (let i = 0; i < b.count; i++, k++) {
        const topic = b.topics[b.topicIndex[i]!]!;
        let list = this.byTopic.get(topic);
        if (list === undefined) {
          this.byTopic.set(topic, (list = []));
          for (const g of groupsOf(topic)) {
            if (!this.groupSet.has(g)) this.groups.push(g);
            this.groupSet.add(g);
          }
        }
        list.push(k);
        this.batchOf.push(b);
        this.indexInBatch.push(i);
      }
      this.lastSeq = lastSeqOf(b);
    }
    this.payloads = new Map();
  }

  /** What a member of `group` that has everything up to `afterSeq` gets now; computed once per group and starting point. */
  payloadFor(group: Group, afterSeq: number): [Uint8Array, number] {
    const from = Math.max(afterSeq, this.firstSeq - 1);
    let byStart = this.payloads.get(group);
    if (byStart === undefined) this.payloads.set(group, (byStart = new Map()));
    let payload = byStart.get(from);
    if (payload === undefined) byStart.set(from, (payload = this.gather(group.topics, from)));
    return payload;
  }

  /** The bytes of this pass's events on `topics` with seq > afterSeq, and how many events they are. */
  private gather(topics: ReadonlySet<string>, afterSeq: number): [Uint8Array, number] {
    let indexes: number[] = [];
    for (const t of topics) {
      const list = this.byTopic.get(t);
      if (list !== undefined) indexes = indexes.length === 0 ? list : mergeSorted(indexes, list);
    }
    const pieces: Uint8Array[] = [];
    let count = 0;
    let runBatch: EventBatch | undefined;
    let runStart = 0;
    let runEnd = 0;
    for (const k of indexes) {
      const b = this.batchOf[k]!;
      const i = this.indexInBatch[k]!;
      if (b.firstSeq + i <= afterSeq) continue;
      count++;
      const start = i === 0 ? 0 : b.ends[i - 1]!;
      if (b === runBatch && start === runEnd) {
        runEnd = b.ends[i]!;
        continue;
      }
      if (runBatch !== undefined) pieces.push(runBatch.bytes.subarray(runStart, runEnd));
      runBatch = b;
      runStart = start;
      runEnd = b.ends[i]!;
    }
    if (runBatch !== undefined) pieces.push(runBatch.bytes.subarray(runStart, runEnd));
    const bytes = pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
    return [bytes, count];
  }
}

function mergeSorted(a: number[], b: number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(a[i]! < b[j]! ? a[i++]! : b[j++]!);
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

export class Hub {
  private readonly groups = new Map<string, Group>(); // canonical topic-set key -> group
  private readonly groupsByTopic = new Map<string, Set<Group>>();
  private readonly groupOf = new Map<Subscriber, Group>();
  private pending: EventBatch[] = [];
  private passing = false;

  constructor(
    private readonly segmentSize: number,
    private readonly stats: FanoutStats,
  ) {}

  get subscriberCount(): number {
    return this.groupOf.size;
  }

  subscribers(): IterableIterator<Subscriber> {
    return this.groupOf.keys();
  }

  add(sub: Subscriber): void {
    const key = [...sub.topics].sort().join(','); // ',' cannot occur in a topic name
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { topics: sub.topics, members: new Set() };
      this.groups.set(key, group);
      for (const t of sub.topics) {
        let set = this.groupsByTopic.get(t);
        if (set === undefined) this.groupsByTopic.set(t, (set = new Set()));
        set.add(group);
      }
    }
    group.members.add(sub);
    this.groupOf.set(sub, group);
  }

  remove(sub: Subscriber): void {
    const group = this.groupOf.get(sub);
    if (group === undefined) return;
    this.groupOf.delete(sub);
    group.members.delete(sub);
    if (group.members.size > 0) return;
    this.groups.delete([...group.topics].sort().join(','));
    for (const t of group.topics) {
      const set = this.groupsByTopic.get(t)!;
      set.delete(group);
      if (set.size === 0) this.groupsByTopic.delete(t);
    }
  }

  /** A new epoch: every subscriber is told (reset frame) and takes the new sequence from its start. */
  restart(resetFrame: Uint8Array): void {
    for (const sub of this.groupOf.keys()) {
      sub.lastSeq = 0;
      sub.send(resetFrame, 0);
    }
  }

  /**
   * Queues a batch for fan-out; the caller has already appended it to the history. The pass starts
   * on the next turn, so every batch that arrives in this one (a shard catching up receives several
   * messages per turn) joins it: one write per connection for all of them.
   */
  deliver(batch: EventBatch): void {
    this.pending.push(batch);
    if (this.passing) return;
    this.passing = true;
    setImmediate(() => this.runPass());
  }

  private readonly groupsOf = (topic: string): Iterable<Group> => this.groupsByTopic.get(topic) ?? [];

  /** The batches waiting for fan-out; counted in the stats as they join a pass. */
  private takePending(): EventBatch[] {
    const batches = this.pending;
    this.pending = [];
    let events = 0;
    for (const b of batches) events += b.count;
    if (events > 0) this.stats.onPass(events);
    return batches;
  }

  private runPass(): void {
    this.runSegments(new Pass(this.takePending(), this.groupsOf), 0, undefined);
  }

  /**
   * Writes to at most `segmentSize` subscribers, then yields (setImmediate) so accepts, reads, aborts
   * and heartbeats run between segments; batches that arrived meanwhile join the pass. Members that
   * joined after a batch reached the history have lastSeq past it and skip it: they got it by replay.
   */
  private runSegments(pass: Pass, groupIndex: number, members: Iterator<Subscriber> | undefined): void {
    const started = performance.now();
    let written = 0;
    while (groupIndex < pass.groups.length) {
      const group = pass.groups[groupIndex]!;
      members ??= group.members.values();
      for (let step = members.next(); !step.done; step = members.next()) {
        const sub = step.value;
        if (sub.lastSeq >= pass.lastSeq) continue;
        const [bytes, count] = pass.payloadFor(group, sub.lastSeq);
        if (count > 0) sub.send(bytes, count);
        sub.lastSeq = pass.lastSeq;
        if (++written === this.segmentSize) {
          this.stats.onSegment((performance.now() - started) / 1000);
          setImmediate(() => {
            if (this.pending.length > 0) pass.grow(this.takePending(), this.groupsOf);
            this.runSegments(pass, groupIndex, members);
          });
          return;
        }
      }
      groupIndex++;
      members = undefined;
    }
    if (written > 0) this.stats.onSegment((performance.now() - started) / 1000); // a segment that ended the pass exactly has an empty tail
    // Members visited before the pass grew still lack the batches it grew by: a new pass of those
    // (and of anything pending) reaches them; the others are already past it and skip.
    if (pass.grownBy.length > 0 || this.pending.length > 0) {
      const next = [...pass.grownBy, ...this.takePending()];
      setImmediate(() => this.runSegments(new Pass(next, this.groupsOf), 0, undefined));
    } else this.passing = false;
  }
}
