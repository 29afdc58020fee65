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
