// One server with DATA_DIR, at start: open the durable log, or take it over from the server that
// holds it (a handover, docs/deploy.md).
import type { Config } from '../config/config.js';
import { DataDirError, DataDirInUse, EventLog } from '../eventlog/event-log.js';
import { HandoverRequest } from './handover-request.js';

/**
 * One server with DATA_DIR: the durable log, recovered; a directory it cannot use stops the start.
 * A live server holding it is asked to hand it over (docs/deploy.md): this process then continues
 * its history once it has released the log, and tells it when it serves (`handover.ready()`).
 */
export async function openLog(config: Config): Promise<{ log: EventLog; open: () => EventLog; handover?: HandoverRequest } | undefined> {
  if (config.dataDir === undefined || config.durability === 'memory') return undefined;
  const dir = config.dataDir;
  const open = (): EventLog =>
    EventLog.open({
      dir,
      durability: config.durability as 'write' | 'fsync',
      fsyncMs: config.fsyncMs,
      segmentBytes: config.logSegmentBytes,
      maxEvents: config.historySize,
      maxAgeMs: config.historyMaxAgeMs,
      maxBytes: config.historyMaxBytes,
      seedEvents: config.historyMemorySize,
    });
  try {
    let handover: HandoverRequest | undefined;
    let log: EventLog;
    try {
      log = open();
    } catch (err) {
      if (!(err instanceof DataDirInUse)) throw err;
      console.log(`DATA_DIR ${dir} is in use by pid ${err.pid}: asking it to hand over`);
      handover = await HandoverRequest.ask(dir, err.pid, config.port);
      log = handover.open(open);
      console.log(`handover: took the log from pid ${err.pid} at epoch ${log.epoch}, seq ${log.lastSeq}`);
    }
    for (const note of log.notes) console.error(`event log: ${note}`);
    return { log, open, ...(handover ? { handover } : {}) };
  } catch (err) {
    if (!(err instanceof DataDirError)) throw err;
    console.error(err.message);
    process.exit(2);
  }
}
