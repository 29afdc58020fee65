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

/** `*` in a token's topic pattern matches any run of characters (including `/`); all else is literal. */
export function compileTopicPatterns(patterns: readonly string[]): (topic: string) => boolean {
  return (topic) => patterns.some((p) => globMatches(p, topic));
}

/**
 * Greedy match that, on a mismatch, backs up to the last `*` and lets it take one more character:
 * at most pattern × topic steps. A regular expression with `.*` per star backtracks exponentially
 * (`*a*a*a*a*a*a*b` against 128 characters held a shard for minutes).
 */
function globMatches(pattern: string, topic: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // the last `*` seen, and where in the topic its run ends for now
  let starEnd = 0;
  while (t < topic.length) {
    if (pattern[p] === '*') {
      star = p++;
      starEnd = t;
    } else if (p < pattern.length && pattern[p] === topic[t]) {
      p++;
      t++;
    } else if (star >= 0) {
      p = star + 1;
      t = ++starEnd;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
