// One server with DATA_DIR, at start: open the durable log, or take it over from the server that
// holds it (a handover, docs/deploy.md).
import type { Config } from '../config/config.js';
import { DataDirError, DataDirInUse, EventLog } from '../eventlog/event-log.js';
import { HandoverRequest } from './handover-request.js';
import type { SharedBatch } from '../sequencing/batch-layout.js';
import { step } from './protocol.js';

/**
 * A log another server still writes, read up to there. Once the shards run (everything slow done
 * while the old server still takes publishes), `take` reads on to catch up, asks that server to
 * release the log, owns it, and hands each batch read since the first pass to `deliver`.
 */
export interface PendingHandover {
  take(deliver: (batch: SharedBatch) => void): Promise<HandoverRequest>;
}

export interface OpenedLog {
  log: EventLog;
  open: () => EventLog;
  handover?: PendingHandover;
}

/**
 * One server with DATA_DIR: the durable log, recovered; a directory it cannot use stops the start.
 * A live server holding it: its log read as far as written, and the handover still to take.
 */
export function openLog(config: Config): OpenedLog | undefined {
  if (config.dataDir === undefined || config.durability === 'memory') return undefined;
  const dir = config.dataDir;
  const options = {
    dir,
    durability: config.durability as 'write' | 'fsync',
    fsyncMs: config.fsyncMs,
    segmentBytes: config.logSegmentBytes,
    maxEvents: config.historySize,
    maxAgeMs: config.historyMaxAgeMs,
    maxBytes: config.historyMaxBytes,
    seedEvents: config.historyMemorySize,
  };
  const open = (): EventLog => EventLog.open(options);
  return orExit(() => {
    try {
      const log = open();
      printNotes(log, 0);
      return { log, open };
    } catch (err) {
      if (!(err instanceof DataDirInUse)) throw err;
      console.log(`DATA_DIR ${dir} is in use by pid ${err.pid}: reading its log, then asking it to hand over`);
      step('reading the log read-only');
      const log = EventLog.preview(options);
      printNotes(log, 0);
      step(`read up to epoch ${log.epoch}, seq ${log.lastSeq}`);
      const take = async (deliver: (batch: SharedBatch) => void): Promise<HandoverRequest> => {
        step('shards started');
        orExit(() => log.catchUp());
        log.takeTail().forEach(deliver); // the tail after the release is what is left
        step(`caught up to seq ${log.lastSeq}; asking for the release`);
        const handover = await orExit(() => HandoverRequest.ask(dir, err.pid, config.port));
        step('released');
        const noted = log.notes.length;
        orExit(() => handover.own(log));
        printNotes(log, noted);
        log.takeTail().forEach(deliver);
        console.log(`handover: took the log from pid ${err.pid} at epoch ${log.epoch}, seq ${log.lastSeq}`);
        step(`owns the log up to seq ${log.lastSeq}`);
        return handover;
      };
      return { log, open, handover: { take } };
    }
  });
}

function printNotes(log: EventLog, from: number): void {
  for (const note of log.notes.slice(from)) console.error(`event log: ${note}`);
}

/** A data directory this process cannot use stops the start (exit 2), with the reason. */
function orExit<T>(run: () => T): T {
  try {
    const out = run();
    if (out instanceof Promise) return out.catch(exitOnDataDirError) as T;
    return out;
  } catch (err) {
    return exitOnDataDirError(err);
  }
}

function exitOnDataDirError(err: unknown): never {
  if (!(err instanceof DataDirError)) throw err;
  console.error(err.message);
  process.exit(2);
}
