// One fan-out pass: the events of the batches it covers, indexed by topic, and for each group of
// subscribers (same topic set) the bytes its members get, gathered once per starting point.
import type { EventBatch } from '../sequencing/batch-layout.js';
import { lastSeqOf } from '../sequencing/batch-layout.js';
import type { Subscriber } from './hub.js';

export interface Group {
  readonly topics: readonly string[];
  /**
   * A one-element array while the group has had one member (most groups, with a private topic per
   * subscriber: a Set costs ~200 bytes), a Set from its second on, never back: either iterates live,
   * so a pass that yields between segments never reaches a member that left.
   */
  members: Subscriber[] | Set<Subscriber>;
}

/**
 * One pass delivers every batch that arrived before it started, and grows at each segment boundary
 * with the batches that arrived meanwhile: the connections it has not reached yet get old and new
 * events in one write, so a shard that falls behind catches up with fewer writes, not more.
 */
export class Pass {
  readonly firstSeq: number;
  lastSeq: number;
  /** lastSeq before the pass grew: where members that take whole passes stop */
  readonly startLastSeq: number;
  /** batches that joined after the sweep began: members visited before lack them */
  readonly grownBy: EventBatch[] = [];
  readonly groups: Group[] = [];
  private readonly groupSet = new Set<Group>();
  private readonly byTopic = new Map<string, number[]>(); // topic -> pass-wide event indexes
  private readonly batchOf: EventBatch[] = [];
  private readonly indexInBatch: number[] = [];
  /**
   * Per payload key (see keyOf), per starting point: the bytes its members get (most share one), up
   * to startLastSeq...
   */
  private readonly startPayloads = new Map<Group | string, Map<number, [Uint8Array, number]>>();
  /** ... and up to lastSeq once the pass has grown */
  private grownPayloads = new Map<Group | string, Map<number, [Uint8Array, number]>>();

  constructor(batches: EventBatch[], groupsOf: (topic: string) => Iterable<Group>) {
    this.firstSeq = batches[0]!.firstSeq;
    this.lastSeq = this.firstSeq - 1;
    this.index(batches, groupsOf);
    this.startLastSeq = this.lastSeq;
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
    this.grownPayloads = new Map();
  }

  /**
   * What a member of `group` that has everything up to `afterSeq` gets now, up to `upTo` (lastSeq, or
   * startLastSeq); computed once per group, starting point and end.
   */
  payloadFor(group: Group, afterSeq: number, upTo = this.lastSeq): [Uint8Array, number] {
    const from = Math.max(afterSeq, this.firstSeq - 1);
    const cache = upTo === this.startLastSeq ? this.startPayloads : this.grownPayloads;
    const key = this.keyOf(group);
    let byStart = cache.get(key);
    if (byStart === undefined) cache.set(key, (byStart = new Map()));
    let payload = byStart.get(from);
    if (payload === undefined) byStart.set(from, (payload = this.gather(typeof key === 'string' ? [key] : group.topics, from, upTo)));
    return payload;
  }

  /**
   * A group with events in this pass on one of its topics only shares that topic's payloads: with
   * a broadcast topic plus one private topic per user, thousands of groups get one gather, not one
   * each. Still right after the pass grows: it grows by later events only, so up to the lastSeq it
   * had when keyed, such a group's events are that topic's.
   */
  private keyOf(group: Group): Group | string {
    let only: string | undefined;
    for (const t of group.topics) {
      if (!this.byTopic.has(t)) continue;
      if (only !== undefined) return group;
      only = t;
    }
    return only ?? group;
  }

  /** The bytes of this pass's events on `topics` with afterSeq < seq <= upTo, and how many events they are. */
  private gather(topics: Iterable<string>, afterSeq: number, upTo: number): [Uint8Array, number] {
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
      const seq = b.firstSeq + i;
      if (seq <= afterSeq) continue;
      if (seq > upTo) break; // indexes are in seq order
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

