// Our event log (src/eventlog), driven as the server drives it: EventLog.append per batch on the main
// thread (plus sync() per batch with DURABILITY=fsync, as WriteAhead does once per turn), recovery at
// open with the seed and the index handed over, resumes through the shards' LogIndex.
import { EventLog, type EventLogOptions } from '../../src/eventlog/event-log.js';
import { LogIndex } from '../../src/eventlog/log-index.js';
import { batchFromShared, eventBytes } from '../../src/sequencing/batch-layout.js';
import type { Batch, Candidate, Mode, Store } from './store.js';

class OurLog implements Store {
  readonly epoch: string;
  readonly lastSeq: number;
  readonly seeded: number;
  /** what a shard holds: built from recovery (the bench reads only after a reopen) */
  private readonly index: LogIndex;
  private readonly log: EventLog;

  constructor(
    private readonly opts: EventLogOptions,
    private readonly mode: Mode,
  ) {
    this.log = EventLog.open(opts);
    this.epoch = this.log.epoch;
    this.lastSeq = this.log.lastSeq;
    this.seeded = this.log.takeSeed().reduce((n, b) => n + b.count, 0);
    this.index = new LogIndex(opts.dir);
    for (const r of this.log.takeIndex()) this.index.add(r);
  }

  append(b: Batch): void {
    this.log.append(b.shared, b.at);
    if (this.mode === 'fsync') this.log.sync();
  }

  async readTopic(topic: string, afterSeq: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    const plan = this.index.plan(afterSeq, this.lastSeq, new Set([topic])) ?? [];
    for (const r of plan) {
      if ('lost' in r) throw new Error(`log lost ${r.lost.join('-')}`);
      const batch = this.index.read(r);
      if (batch === undefined) throw new Error(`record at ${r.segment}:${r.offset} unreadable`);
      for (let i = 0; i < batch.count; i++) if (batch.topics[batch.topicIndex[i]!] === topic && batch.firstSeq + i > afterSeq) out.push(eventBytes(batch, i));
    }
    return out;
  }

  async dropThrough(seq: number): Promise<void> {
    // retention keeps the newest maxEvents; applyRetention() is what the log's 1 s tick and each rotation run
    this.opts.maxEvents = this.lastSeq - seq;
    this.log.applyRetention();
  }

  async close(): Promise<void> {
    this.log.close();
  }
}

/** `segmentBytes`: LOG_SEGMENT_BYTES (16 MiB by default; retention deletes whole segments) */
export function ourLog(segmentBytes: number): Candidate {
  return {
    name: 'our log (src/eventlog)',
    settings: `segment files of ${(segmentBytes / 2 ** 20).toFixed(0)} MiB, one writev per batch; write: fdatasync every 1 s (FSYNC_MS), fsync: fdatasync per batch`,
    async open(dir, mode, seed) {
      const opts: EventLogOptions = { dir, durability: mode, fsyncMs: 1_000, segmentBytes, maxEvents: Number.MAX_SAFE_INTEGER, maxAgeMs: 0, maxBytes: 0, seedEvents: seed };
      return new OurLog(opts, mode);
    },
  };
}
