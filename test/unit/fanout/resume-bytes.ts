// What a resume writes, read to its end as a stream would: for tests that compare whole replays.
import type { Replay } from '../../../src/fanout/replay.js';
import type { Resume } from '../../../src/fanout/shard.js';

/** Every chunk of `replay`, read `chunkBytes` at a time (1: one event per chunk). */
export function replayed(replay: Replay | undefined, chunkBytes = 1): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let c = replay?.next(chunkBytes); c !== undefined; c = replay!.next(chunkBytes)) chunks.push(c);
  return chunks;
}

/** The reset frame (if any), then the whole replay. */
export function resumeBytes(resume: Resume): Uint8Array[] {
  return [...(resume.reset === undefined ? [] : [resume.reset]), ...replayed(resume.replay)];
}
