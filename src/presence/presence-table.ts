// Presence, aggregated in the main thread: the per-topic counts of every source (a shard of this
// server, or in cluster mode another server read from Redis) and their totals. A source that goes
// away (a shard replaced, a server whose Redis key expired) takes its counts with it. Pure: no
// timers, no I/O.
import type { TopicCount } from '../fanout/topic-counts.js';

export interface TopicPage {
  topics: Array<{ topic: string; subscribers: number }>;
  /** the cursor for the next page (the last topic returned), null at the end */
  next: string | null;
}

export class PresenceTable {
  private readonly bySource = new Map<string, Map<string, number>>();
  private readonly totals = new Map<string, number>();

  /** Absolute counts for some topics of `source` (0 removes the topic). Returns the topics whose total changed. */
  apply(source: string, changes: readonly TopicCount[]): string[] {
    let counts = this.bySource.get(source);
    if (counts === undefined) this.bySource.set(source, (counts = new Map()));
    const changed: string[] = [];
    for (const [topic, n] of changes) {
      const before = counts.get(topic) ?? 0;
      if (n === before) continue;
      if (n > 0) counts.set(topic, n);
      else counts.delete(topic);
      this.addTotal(topic, n - before);
      changed.push(topic);
    }
    if (counts.size === 0) this.bySource.delete(source);
    return changed;
  }

  /** Every count of `source` at once (a snapshot read from Redis): topics it no longer has drop to 0. */
  replace(source: string, counts: ReadonlyMap<string, number>): string[] {
    const changes: TopicCount[] = [...counts];
    for (const topic of this.bySource.get(source)?.keys() ?? []) if (!counts.has(topic)) changes.push([topic, 0]);
    return this.apply(source, changes);
  }

  /** The source is gone: its counts leave the totals. */
  drop(source: string): string[] {
    return this.replace(source, new Map());
  }

  sources(): string[] {
    return [...this.bySource.keys()];
  }

  /** Totals over the sources `include` accepts (e.g. this server's own shards, to publish to Redis). */
  totalsOf(include: (source: string) => boolean): Map<string, number> {
    const out = new Map<string, number>();
    for (const [source, counts] of this.bySource) {
      if (!include(source)) continue;
      for (const [t, n] of counts) out.set(t, (out.get(t) ?? 0) + n);
    }
    return out;
  }

  /** One topic's total over the sources `include` accepts. */
  totalOf(topic: string, include: (source: string) => boolean): number {
    let n = 0;
    for (const [source, counts] of this.bySource) if (include(source)) n += counts.get(topic) ?? 0;
    return n;
  }

  /** topics with at least one subscriber */
  get size(): number {
    return this.totals.size;
  }

  total(topic: string): number {
    return this.totals.get(topic) ?? 0;
  }

  /** Topics with at least one subscriber that `visible` accepts (all without it), sorted by name, starting with `prefix`, after `cursor`. */
  list(prefix: string, limit: number, cursor: string | undefined, visible?: (topic: string) => boolean): TopicPage {
    const names: string[] = [];
    for (const t of this.totals.keys()) {
      if (t.startsWith(prefix) && (cursor === undefined || t > cursor) && (visible === undefined || visible(t))) names.push(t);
    }
    names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = names.slice(0, limit);
    return {
      topics: page.map((topic) => ({ topic, subscribers: this.total(topic) })),
      next: names.length > limit ? page[page.length - 1]! : null,
    };
  }

  private addTotal(topic: string, delta: number): void {
    const n = (this.totals.get(topic) ?? 0) + delta;
    if (n > 0) this.totals.set(topic, n);
    else this.totals.delete(topic);
  }
}
