// Retention of the durable log: whole segment files go, oldest first, once HISTORY_SIZE events,
// HISTORY_MAX_AGE or HISTORY_MAX_BYTES (whichever first) says so; the one being written stays.
import { unlinkSync } from 'node:fs';
import type { SegmentInfo } from './recovery.js';

export interface RetentionLimits {
  maxEvents: number;
  /** ms, 0: none */
  maxAgeMs: number;
  /** 0: none */
  maxBytes: number;
}

/** Deletes the segments past the limits from the disk and from `segments` (oldest first); `newest`: the newest number written. */
export function retain(segments: SegmentInfo[], { maxEvents, maxAgeMs, maxBytes }: RetentionLimits, newest: number): void {
  let bytes = segments.reduce((n, s) => n + s.bytes, 0);
  while (segments.length > 1) {
    const oldest = segments[0]!;
    const tooMany = oldest.lastSeq <= newest - maxEvents;
    const tooOld = maxAgeMs > 0 && oldest.newestAt < Date.now() - maxAgeMs;
    const tooBig = maxBytes > 0 && bytes > maxBytes;
    if (!tooMany && !tooOld && !tooBig) return;
    try {
      unlinkSync(oldest.path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return console.error(`event log: cannot delete ${oldest.path}: ${(err as Error).message}`);
    }
    bytes -= oldest.bytes;
    segments.shift();
  }
}
