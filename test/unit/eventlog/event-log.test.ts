// The log on real files in a temporary directory: what a clean or unclean start makes of them, a
// torn tail, damage in the middle, the lock and retention, and a handover's passes over a live log.
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirError, EventLog, type EventLogOptions } from '../../../src/eventlog/event-log.js';
import { encodeRecord, KIND } from '../../../src/eventlog/record.js';
import { logSyncs } from '../../../src/eventlog/datasync.js';
import { BatchBuilder, batchFromShared, eventBytes, type SharedBatch } from '../../../src/sequencing/batch-layout.js';

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

function options(over: Partial<EventLogOptions> = {}): EventLogOptions {
  const dir = mkdtempSync(join(tmpdir(), 'eventlog-'));
  dirs.push(dir);
  return { dir, durability: 'write', fsyncMs: 1_000, segmentBytes: 1 << 20, maxEvents: 1_000_000, maxAgeMs: 0, maxBytes: 0, ...over };
}

function batch(epoch: string, firstSeq: number, count: number, topic = 't'): SharedBatch {
  const b = new BatchBuilder();
  for (let i = 0; i < count; i++) b.add(firstSeq + i, topic, Buffer.from(`id: ${epoch}-${firstSeq + i}\ndata: ${i}\n\n`));
  return b.seal(epoch);
}

/** Opens, appends `batches` of 10 events, and closes cleanly or not (an unclean close only lets the lock go, like a process that died). */
function fill(opts: EventLogOptions, batches: number, clean: boolean): EventLog {
  const log = EventLog.open(opts);
  for (let i = 0; i < batches; i++) log.append(batch(log.epoch, log.lastSeq + 1 + 10 * i, 10));
  if (clean) log.close();
  else rmSync(join(opts.dir, 'lock'));
  return log;
}

const seqs = (seed: SharedBatch[]): string[] => seed.flatMap((s) => {
  const b = batchFromShared(s);
  return Array.from({ length: b.count }, (_, i) => /^id: (\S+)/.exec(Buffer.from(eventBytes(b, i)).toString())![1]!);
});

describe('event log', () => {
  it('after a clean shutdown the same epoch goes on after the newest number, with every event to seed', () => {
    const opts = options();
    const first = fill(opts, 3, true);
    const again = EventLog.open(opts);
    expect(again.epoch).toBe(first.epoch);
    expect(again.lastSeq).toBe(30);
    expect(seqs(again.takeSeed())).toEqual(Array.from({ length: 30 }, (_, i) => `${first.epoch}-${i + 1}`));
    again.close();
  });

  it('after an unclean stop a new epoch continues the old one up to the last number stored', () => {
    const opts = options();
    const first = fill(opts, 2, false);
    const again = EventLog.open(opts);
    expect(again.epoch).not.toBe(first.epoch);
    expect(again.lastSeq).toBe(20);
    expect([...again.aliases]).toEqual([[first.epoch, 20]]);
    again.close();
  });

  it('a torn last record is cut off and its events are not read back; earlier epochs stay chained', () => {
    const opts = options();
    const first = fill(opts, 3, false);
    const [seg] = readdirSync(opts.dir).filter((n) => n.endsWith('.seg'));
    const path = join(opts.dir, seg!);
    truncateSync(path, statSync(path).size - 5); // power loss: the tail of the last write is gone
    const again = EventLog.open(opts);
    expect(again.lastSeq).toBe(20);
    expect([...again.aliases]).toEqual([[first.epoch, 20]]);
    expect(again.notes.join('\n')).toMatch(/cut a torn last record/);
    again.close();
  });

  it('damage in the middle is skipped and reported, the records after it are read', () => {
    const opts = options();
    fill(opts, 3, true);
    const path = join(opts.dir, readdirSync(opts.dir).find((n) => n.endsWith('.seg'))!);
    const bytes = readFileSync(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff; // inside the second batch
    writeFileSync(path, bytes);
    const again = EventLog.open(opts);
    expect(again.notes.join('\n')).toMatch(/skipped damaged bytes/);
    expect(again.lastSeq).toBe(30);
    again.close();
  });

  it('counts its fdatasyncs: one per sync with something appended, none for a sync with nothing new', () => {
    const log = EventLog.open(options());
    const before = logSyncs();
    log.append(batch(log.epoch, log.lastSeq + 1, 10));
    log.append(batch(log.epoch, log.lastSeq + 11, 10));
    log.sync();
    log.sync();
    expect(logSyncs() - before).toBe(1);
    log.close();
    expect(logSyncs() - before).toBeGreaterThan(1);
  });

  it('refuses to open while a living process holds the lock, and takes a lock left by a dead one', () => {
    const opts = options();
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    writeFileSync(join(opts.dir, 'lock'), `${process.ppid} ${stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]}\n`);
    expect(() => EventLog.open(opts)).toThrow(DataDirError);
    expect(() => EventLog.open(opts)).toThrow(`in use by another server (pid ${process.ppid})`);
    writeFileSync(join(opts.dir, 'lock'), `${process.ppid} 1\n`); // that pid, but another process's start time: reused
    EventLog.open(opts).close();
    writeFileSync(join(opts.dir, 'lock'), '999999999 1\n');
    EventLog.open(opts).close();
  });

  it('a directory that cannot be created is a DataDirError naming it', () => {
    const opts = options();
    writeFileSync(join(opts.dir, 'file'), '');
    expect(() => EventLog.open({ ...opts, dir: join(opts.dir, 'file', 'sub') })).toThrow(/DATA_DIR .*file\/sub cannot be created/);
  });

  it('retention by count deletes whole old segments, and what stays still opens with its chain', () => {
    const opts = options({ segmentBytes: 4_096, maxEvents: 200 });
    const log = EventLog.open(opts);
    for (let i = 0; i < 100; i++) log.append(batch(log.epoch, 1 + 10 * i, 10)); // ~60 KB in 4 KB segments
    log.close();
    const segments = readdirSync(opts.dir).filter((n) => n.endsWith('.seg'));
    expect(segments.length).toBeLessThan(10);
    const again = EventLog.open(opts);
    expect(again.epoch).toBe(log.epoch);
    const kept = seqs(again.takeSeed());
    expect(kept.length).toBeGreaterThanOrEqual(200);
    expect(kept.at(-1)).toBe(`${log.epoch}-1000`);
    again.close();
  });
});

/** A handover: the new process reads the log while its owner still writes it, then owns it once released. */
describe('event log handed over', () => {
  it('the read-only pass, the catch-up and the tail after the release together read every batch once, and the history goes on in the same epoch', () => {
    const opts = options();
    const owner = fill(opts, 2, false);
    writeFileSync(join(opts.dir, 'lock'), `${process.ppid} \n`); // the owner still holds it
    const next = EventLog.preview(opts);
    expect([next.epoch, next.lastSeq]).toEqual([owner.epoch, 20]);
    expect(seqs(next.takeSeed())).toEqual(Array.from({ length: 20 }, (_, i) => `${owner.epoch}-${i + 1}`));
    owner.append(batch(owner.epoch, 21, 10));
    next.catchUp();
    const caughtUp = next.takeTail();
    expect(seqs(caughtUp)).toEqual(Array.from({ length: 10 }, (_, i) => `${owner.epoch}-${i + 21}`));
    expect(caughtUp[0]!.stored?.slice(0, 1)).toEqual([1]);
    owner.append(batch(owner.epoch, 31, 10));
    owner.close(true);
    next.own({ epoch: owner.epoch, lastSeq: 40 });
    expect(seqs(next.takeTail())).toEqual(Array.from({ length: 10 }, (_, i) => `${owner.epoch}-${i + 31}`));
    expect([next.epoch, next.lastSeq]).toEqual([owner.epoch, 40]);
    next.append(batch(next.epoch, 41, 10));
    next.close();
    const again = EventLog.open(opts);
    expect([again.epoch, again.lastSeq]).toEqual([owner.epoch, 50]);
    again.close();
  });

  it('a record still being written is left alone by the read-only pass and read whole after the release', () => {
    const opts = options();
    const owner = EventLog.open(opts);
    owner.append(batch(owner.epoch, 1, 10));
    const path = join(opts.dir, readdirSync(opts.dir).find((n) => n.endsWith('.seg'))!);
    const record = Buffer.concat(encodeRecord(KIND.BATCH, { e: owner.epoch, s: 11, n: 10, t: ['t'], at: Date.now() }, new Uint8Array(batch(owner.epoch, 11, 10).buffer)));
    appendFileSync(path, record.subarray(0, 40)); // a write under way
    const size = statSync(path).size;
    const next = EventLog.preview(opts);
    expect(next.lastSeq).toBe(10);
    expect(statSync(path).size, 'nothing cut from a live log').toBe(size);
    expect(next.notes).toEqual([]);
    appendFileSync(path, record.subarray(40));
    owner.close(true);
    next.own({ epoch: owner.epoch, lastSeq: 20 });
    expect(seqs(next.takeTail())).toEqual(Array.from({ length: 10 }, (_, i) => `${owner.epoch}-${i + 11}`));
    next.close();
  });

  it('a log that does not end where it was released is refused, with nothing written and the lock free', () => {
    const opts = options();
    const owner = fill(opts, 2, false);
    writeFileSync(join(opts.dir, 'lock'), `${process.ppid} \n`);
    const next = EventLog.preview(opts);
    owner.close(true);
    const bytes = readdirSync(opts.dir).map((n) => [n, statSync(join(opts.dir, n)).size]);
    expect(() => next.own({ epoch: owner.epoch, lastSeq: 25 })).toThrow(/the log ends at epoch \S+, seq 20, but it was released at epoch \S+, seq 25/);
    expect(readdirSync(opts.dir).map((n) => [n, statSync(join(opts.dir, n)).size])).toEqual(bytes);
    EventLog.open(opts).close();
  });
});
