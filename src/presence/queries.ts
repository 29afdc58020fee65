// What a shard's HTTP surface asks the main thread about presence and live figures: the main
// thread holds the aggregated counts (every shard, every server) and the stats sampler. A worker
// shard asks by message (threads/protocol 'ask'); SHARDS=0 calls these directly.
import type { StatsSample } from '../metrics/stats.js';
import type { TopicPage } from './presence-table.js';

export type MainQuery =
  | { kind: 'subscribers'; topic: string }
  /** patterns: only the topics they cover (a publisher JWT's scope); undefined: every topic */
  | { kind: 'list'; prefix: string; limit: number; cursor: string | undefined; patterns?: readonly string[] | undefined }
  | { kind: 'stats' };

export interface MainAnswers {
  subscribers: number;
  list: TopicPage;
  stats: StatsSample;
}

export type Ask = <Q extends MainQuery>(query: Q) => Promise<MainAnswers[Q['kind']]>;

/** What the main thread answers from: the presence counts and the stats sampler. */
export interface QuerySources {
  subscribers(topic: string): number;
  list(prefix: string, limit: number, cursor: string | undefined, patterns: readonly string[] | undefined): TopicPage;
  stats(): StatsSample;
}

/** The main thread's Ask: each kind of query answered from its source, as a promise. */
export function askFrom(sources: QuerySources): Ask {
  // one answer per kind, each checked against its own MainAnswers entry
  const answers: { [K in MainQuery['kind']]: (q: Extract<MainQuery, { kind: K }>) => MainAnswers[K] } = {
    subscribers: (q) => sources.subscribers(q.topic),
    list: (q) => sources.list(q.prefix, q.limit, q.cursor, q.patterns),
    stats: () => sources.stats(),
  };
  // TypeScript cannot follow a generic's kind into the table: the table itself is what is checked
  return ((q: MainQuery) => Promise.resolve(answers[q.kind](q as never))) as Ask;
}
