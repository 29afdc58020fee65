// After an unclean start the history goes on under a new epoch that continues the old one up to the
// last number that survived on disk. An old-epoch id at or below that number names the same event
// as before and resumes; one past it was handed out in the lost tail and gets a reset.
import { formatId, parseId } from '../sequencing/event-ids.js';

/** `lastEventId` in the current epoch when it names a surviving event of an earlier one; otherwise unchanged. */
export function followChain(lastEventId: string | undefined, aliases: ReadonlyMap<string, number>, epoch: string): string | undefined {
  if (aliases.size === 0) return lastEventId;
  const id = parseId(lastEventId);
  if (id === undefined) return lastEventId;
  const cut = aliases.get(id.epoch);
  return cut !== undefined && id.seq <= cut ? formatId(epoch, id.seq) : lastEventId;
}
