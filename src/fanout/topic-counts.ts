// Presence, one shard's part: how many of this shard's streams listen to each topic. Maintained by
// Shard.subscribe/unsubscribe only, never on the fan-out path (a pass does not look at it). Changes
// are collected, not pushed: the first change of a turn calls `onDirty` once, and whoever hosts the
// shard takes the absolute counts of the changed topics later (deliverChanges: one message per
// PRESENCE_HANDOVER_MS at most, however many streams came and went in it).
import { Pacer } from '../threads/pacer.js';

/**
 * A shard hands its changed counts over at most this often (the first change after a quiet spell at
 * once). One message per event-loop turn meant one per connection while thousands connect: a
 * postMessage that wakes the main thread, about 200 µs of CPU each under load, more than the
 * connection's own accept and response head. $presence announces at most once a second anyway.
 */
export const PRESENCE_HANDOVER_MS = 50;

export type TopicCount = [topic: string, subscribers: number];

export class TopicCounts {
  private readonly counts = new Map<string, number>();
  private dirty = new Set<string>();
  /** called on the first change after the last takeChanges() */
  onDirty: () => void = () => {};

  add(topics: Iterable<string>): void {
    for (const t of topics) {
      this.counts.set(t, (this.counts.get(t) ?? 0) + 1);
      this.mark(t);
    }
  }

  remove(topics: Iterable<string>): void {
    for (const t of topics) {
      const n = (this.counts.get(t) ?? 0) - 1;
      if (n > 0) this.counts.set(t, n);
      else this.counts.delete(t);
      this.mark(t);
    }
  }

  get(topic: string): number {
    return this.counts.get(topic) ?? 0;
  }

  /** topics with at least one stream */
  get size(): number {
    return this.counts.size;
  }

  /** The absolute count of every topic changed since the last call (0: none left), then forgets them. */
  takeChanges(): TopicCount[] {
    const out: TopicCount[] = [];
    for (const t of this.dirty) out.push([t, this.get(t)]);
    this.dirty = new Set();
    return out;
  }

  private mark(topic: string): void {
    if (this.dirty.size === 0) {
      this.dirty.add(topic);
      this.onDirty();
    } else this.dirty.add(topic);
  }
}

/** Gives `deliver` the changes of `counts`: on the next turn after a quiet spell, then at most once per `windowMs`. */
export function deliverChanges(counts: TopicCounts, deliver: (changes: TopicCount[]) => void, windowMs = PRESENCE_HANDOVER_MS): void {
  const pacer = new Pacer(windowMs, () => {
    pacer.fired();
    deliver(counts.takeChanges());
  });
  counts.onDirty = () => pacer.schedule();
}
