// Topics to subscribers, and fan-out of batches to them. Transport- and thread-agnostic: a shard
// (or the single-process server) owns one Hub; subscribers are whatever implements `Subscriber`.
//
// Subscribers with the same topic set form a group; a batch's bytes for a group are gathered once
// (a zero-copy view when the group's events are contiguous) and the same bytes go to every member.
import type { EventBatch } from '../sequencing/batch-layout.js';
import { Pass, type Group } from './pass.js';

export interface Subscriber {
  /** each topic once; an array, not a Set: a Set of two costs ~160 bytes, held for the stream's life */
  readonly topics: readonly string[];
  /** the last sequence number this subscriber has been given (replayed or live) */
  lastSeq: number;
  /** one corked write of `bytes`, carrying `events` events */
  send(bytes: Uint8Array, events: number): void;
  /**
   * Takes each pass as it began, never the batches it grew by (the next pass brings them): every
   * member of a group is then given the very same bytes, which an encoder that shares its output
   * among them (gzip) needs to keep them in step.
   */
  readonly wholePasses?: boolean;
  /** the hub's own slot: this subscriber's group while it is in the hub (a Map entry per subscriber otherwise) */
  hubGroup?: Group | undefined;
}

export interface FanoutStats {
  onPass(events: number): void;
  onSegment(seconds: number): void;
}

export class Hub {
  private readonly groups = new Map<string, Group>(); // canonical topic-set key -> group
  /**
   * A topic's groups: the group itself while it is the only one (a private topic per subscriber
   * makes most topics so, and a Set costs ~180 bytes), a Set from the second on.
   */
  private readonly groupsByTopic = new Map<string, Group | Set<Group>>();
  private count = 0;
  private pending: EventBatch[] = [];
  private passing = false;
  /** to run once every batch delivered so far has reached every subscriber */
  private idle: Array<() => void> = [];

  constructor(
    private readonly segmentSize: number,
    private readonly stats: FanoutStats,
  ) {}

  get subscriberCount(): number {
    return this.count;
  }

  *subscribers(): IterableIterator<Subscriber> {
    for (const group of this.groups.values()) yield* group.members;
  }

  add(sub: Subscriber): void {
    if (sub.hubGroup !== undefined) return;
    const key = [...sub.topics].sort().join(','); // ',' cannot occur in a topic name
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { topics: sub.topics, members: [sub] };
      this.groups.set(key, group);
      for (const t of sub.topics) {
        const held = this.groupsByTopic.get(t);
        if (held === undefined) this.groupsByTopic.set(t, group);
        else if (held instanceof Set) held.add(group);
        else this.groupsByTopic.set(t, new Set([held, group]));
      }
    } else if (group.members instanceof Set) group.members.add(sub);
    else group.members = new Set([...group.members, sub]);
    sub.hubGroup = group;
    this.count++;
  }

  /** False when `sub` was not here (already removed). */
  remove(sub: Subscriber): boolean {
    const group = sub.hubGroup;
    if (group === undefined) return false;
    sub.hubGroup = undefined;
    this.count--;
    const members = group.members;
    if (members instanceof Set) members.delete(sub);
    else members.pop(); // its one member: a pass iterating it now finds it gone
    if ((members instanceof Set ? members.size : members.length) > 0) return true;
    this.groups.delete([...group.topics].sort().join(','));
    for (const t of group.topics) {
      const held = this.groupsByTopic.get(t)!;
      if (!(held instanceof Set)) this.groupsByTopic.delete(t);
      else if (held.delete(group) && held.size === 1) this.groupsByTopic.set(t, held.values().next().value!);
    }
    return true;
  }

  /** A new epoch: every subscriber is told (reset frame) and takes the new sequence from its start. */
  restart(resetFrame: Uint8Array): void {
    for (const sub of this.subscribers()) {
      sub.lastSeq = 0;
      sub.send(resetFrame, 0);
    }
  }

  /**
   * Numbers up to `lastSeq` were lost: each subscriber not past them is told (`resetFrame`) and goes
   * on after them. Call it when no pass runs (`whenIdle`), so it comes after every event before them.
   * Returns how many were told.
   */
  skipTo(lastSeq: number, resetFrame: Uint8Array): number {
    let told = 0;
    for (const sub of this.subscribers()) {
      if (sub.lastSeq >= lastSeq) continue; // joined after: its replay started past them
      sub.lastSeq = lastSeq;
      sub.send(resetFrame, 0);
      told++;
    }
    return told;
  }

  /** Runs `fn` once every batch delivered so far has reached every subscriber (now, if nothing is pending). */
  whenIdle(fn: () => void): void {
    if (this.passing) this.idle.push(fn);
    else fn();
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

  private readonly groupsOf = (topic: string): Iterable<Group> => {
    const held = this.groupsByTopic.get(topic);
    return held === undefined ? [] : held instanceof Set ? held : [held];
  };

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
      // most members of a group start where the previous one did: no lookup for them
      let from = -1;
      let to = -1;
      let payload: [Uint8Array, number] | undefined;
      for (let step = members.next(); !step.done; step = members.next()) {
        const sub = step.value;
        const upTo = sub.wholePasses === true ? pass.startLastSeq : pass.lastSeq;
        if (sub.lastSeq >= upTo) continue;
        if (sub.lastSeq !== from || upTo !== to || payload === undefined) {
          from = sub.lastSeq;
          to = upTo;
          payload = pass.payloadFor(group, from, upTo);
        }
        const [bytes, count] = payload;
        if (count > 0) sub.send(bytes, count);
        sub.lastSeq = upTo;
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
    // Members visited before the pass grew (and those taking whole passes) still lack the batches it
    // grew by: a new pass of those (and of anything pending) reaches them; the others are past it and skip.
    if (pass.grownBy.length > 0 || this.pending.length > 0) {
      const next = [...pass.grownBy, ...this.takePending()];
      setImmediate(() => this.runSegments(new Pass(next, this.groupsOf), 0, undefined));
    } else {
      this.passing = false;
      const idle = this.idle;
      this.idle = [];
      for (const fn of idle) fn();
    }
  }
}
