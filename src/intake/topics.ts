// Topic names and the topic patterns of subscriber tokens.
import { HttpError } from './errors.js';

/** Also checked in the demo page's script, from this same pattern. */
export const TOPIC = /^[A-Za-z0-9_.:/-]{1,128}$/;
export const MAX_TOPICS_PER_STREAM = 64;
/** The reserved topic presence events go to: outside the topic rule, so only the server publishes there. */
export const PRESENCE_TOPIC = '$presence';

export function isTopic(value: unknown): value is string {
  return typeof value === 'string' && TOPIC.test(value);
}

export function assertTopic(value: unknown): string {
  if (!isTopic(value)) throw new HttpError('BAD_TOPIC');
  return value;
}

/** A topic a client may subscribe to: a topic name, or the reserved `$presence`. */
export function assertSubscribableTopic(value: string): string {
  return value === PRESENCE_TOPIC ? value : assertTopic(value);
}

/** Topics of a stream request: repeated `topic=` and comma-separated `topics=`, deduplicated, in order. */
export function topicsFromQuery(params: URLSearchParams): string[] {
  const raw = [...params.getAll('topic'), ...params.getAll('topics').flatMap((t) => t.split(','))];
  if (raw.length === 0) throw new HttpError('MISSING_TOPIC');
  const topics = [...new Set(raw.map(assertSubscribableTopic))];
  if (topics.length > MAX_TOPICS_PER_STREAM) throw new HttpError('TOO_MANY_TOPICS');
  return topics;
}

/** `*` in a token's topic pattern matches any run of characters (including `/`). */
export function compileTopicPatterns(patterns: readonly string[]): (topic: string) => boolean {
  const regexes = patterns.map(
    (p) => new RegExp(`^${p.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')).join('.*')}$`),
  );
  return (topic) => regexes.some((r) => r.test(topic));
}
