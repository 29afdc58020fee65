// Presence in the main thread: the shards' counts (and, in cluster mode, the other servers'),
// answered to GET /topics, and announced on `$presence` at most once per topic per
// PRESENCE_INTERVAL_MS. Announcements are published like any event (sequenced, in history), by
// `publish`; in cluster mode only one server (the live one with the smallest id) announces, so each
// change is announced once for the cluster. Nothing is announced while nobody (on any server)
// subscribes to `$presence`: announcements would take sequence numbers and history slots (the one
// HISTORY_SIZE ring shared by all topics) from real events for no reader.
import type { TopicCount } from '../fanout/topic-counts.js';
import { compileTopicPatterns, PRESENCE_TOPIC } from '../intake/topics.js';
import { PresenceNotifier } from './presence-notifier.js';
import { PresenceTable, type TopicPage } from './presence-table.js';
import type { ClusterSnapshot } from './redis-presence.js';

const REMOTE = 'server:';
const isOwn = (source: string): boolean => !source.startsWith(REMOTE);

export class PresenceService {
  readonly table = new PresenceTable();
  private readonly notifier: PresenceNotifier;
  private leader = true;
  /** counts this server's own changes: Redis is written only when it moved */
  private ownChanges = 0;
  /** own topics changed since takeOwnChanges() last ran: Redis is given these alone */
  private ownDirty = new Set<string>();
  /** per other server, the counts last applied: a snapshot that brings the same map changed nothing */
  private readonly applied = new Map<string, ReadonlyMap<string, number>>();

  constructor(
    intervalMs: number,
    private readonly publish: (topic: string, subscribers: number) => void,
    private readonly serverId = '',
  ) {
    this.notifier = new PresenceNotifier(intervalMs, (topic, n) => {
      if (this.leader && this.table.total(PRESENCE_TOPIC) > 0) this.publish(topic, n);
    });
  }

  /** A shard's changed counts (source: a name unique to that shard's thread). */
  shardChanged(source: string, changes: readonly TopicCount[]): void {
    this.ownChanged(this.table.apply(source, changes));
  }

  /** The shard is gone: its streams with it. */
  shardGone(source: string): void {
    this.ownChanged(this.table.drop(source));
  }

  /** Changes whenever ownCounts() would answer differently. */
  ownVersion(): number {
    return this.ownChanges;
  }

  /** This server's own counts, for Redis. */
  ownCounts(): Map<string, number> {
    return this.table.totalsOf(isOwn);
  }

  /** This server's own count of every topic changed since the last call (0: none left here), for Redis. */
  takeOwnChanges(): TopicCount[] {
    const out: TopicCount[] = [];
    for (const t of this.ownDirty) out.push([t, this.table.totalOf(t, isOwn)]);
    this.ownDirty = new Set();
    return out;
  }

  /** Cluster mode: the other live servers' counts, as just read from Redis. */
  cluster(snapshot: ClusterSnapshot): void {
    const changed = new Set<string>();
    for (const [id, counts] of snapshot.others) {
      if (this.applied.get(id) === counts) {
        // the same map, read again as its changes alone
        for (const t of this.table.apply(REMOTE + id, snapshot.changes?.get(id) ?? [])) changed.add(t);
        continue;
      }
      this.applied.set(id, counts);
      for (const t of this.table.replace(REMOTE + id, counts)) changed.add(t);
    }
    for (const id of this.applied.keys()) if (!snapshot.others.has(id)) this.applied.delete(id);
    for (const source of this.table.sources()) {
      if (source.startsWith(REMOTE) && !snapshot.others.has(source.slice(REMOTE.length))) for (const t of this.table.drop(source)) changed.add(t);
    }
    this.leader = snapshot.live.every((id) => id >= this.serverId);
    this.announce([...changed]);
  }

  subscribers(topic: string): number {
    return this.table.total(topic);
  }

  /** The topics `patterns` cover (all when undefined), paginated. */
  list(prefix: string, limit: number, cursor: string | undefined, patterns?: readonly string[]): TopicPage {
    return this.table.list(prefix, limit, cursor, patterns === undefined ? undefined : compileTopicPatterns(patterns));
  }

  stop(): void {
    this.notifier.stop();
  }

  private ownChanged(topics: readonly string[]): void {
    if (topics.length > 0) this.ownChanges++;
    for (const t of topics) this.ownDirty.add(t);
    this.announce(topics);
  }

  /** Topics whose next announcement waits for its interval (for tests). */
  get waiting(): number {
    return this.notifier.waiting;
  }

  private announce(topics: readonly string[]): void {
    // Only the announcing server keeps a topic's interval: the notifier's timer per changed topic,
    // alive an interval each, was most of the main thread's heap while 100,000 streams connected to
    // 7 servers (every server saw every server's changes, 5,000 topics a second). It keeps them
    // while nobody watches $presence too: a watcher's count can reach this thread after changes
    // made once it was watching (from another shard), and their interval's last count is its due.
    if (!this.leader) return;
    // Subscribers of $presence itself are counted but not announced: a console watching $presence
    // would otherwise announce its own arrival to everyone watching.
    for (const t of topics) if (t !== PRESENCE_TOPIC) this.notifier.update(t, this.table.total(t));
  }
}
