// `make bench-stores` (node dist/bench/eventlog-stores.js): our event log (src/eventlog, the real
// classes) against the stores its design rejected, SQLite (better-sqlite3), LMDB (lmdb) and LevelDB
// (classic-level), on the same workload, in one process (docs/durability.md "Stores measured"):
// 1. appending batches of 256 events × 128 B of data over 100 topics, one batch per event-loop turn:
//    events/s and CPU per event of the main thread (schedstat) and of the whole process (thread
//    pools, LMDB's write thread), `write` then `fsync` durability (one sync per batch: group commit);
//    rounds interleaved across the stores (the machine is shared), medians quoted;
// 2. a log of 1,000,000 events on 100 busy topics between two events on `quiet`: disk bytes per
//    event against its SSE bytes, open + recovery (newest sequence number, the newest 100,000 events
//    read to seed memory), the quiet topic's range read after its first id, and retention (the
//    oldest 50 % dropped: time, and whether the file system gets the space back).
// Env: BENCH_QUICK=1 (100,000 events, fewer rounds), STORES_EVENTS, STORES_ROUNDS, STORES_BATCHES
// (per `write` round), STORES_FSYNC_BATCHES, STORES_SEED, STORES_SEGMENT_BYTES (ours), STORES_ONLY (comma list, part of a name),
// STORES_DIR (where the stores are written; default the OS temporary directory).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { machineInfo, threadTimes } from './proc-stats.js';
import { level } from './stores/level.js';
import { lmdbAsync, lmdbSync } from './stores/lmdb.js';
import { ourLog } from './stores/ours.js';
import { sqlite } from './stores/sqlite.js';
import { EVENTS_PER_BATCH, makeBatch, PAYLOAD_BYTES, type Candidate, type Mode, type Store } from './stores/store.js';
import { big, renderBig, type BigResult } from './stores/big-log.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const knob = (name: string, full: number, quick: number): number => Number(process.env[name] ?? (QUICK ? quick : full));
const EVENTS = knob('STORES_EVENTS', 1_000_000, 100_000);
const ROUNDS = knob('STORES_ROUNDS', 5, 3);
const BATCHES = knob('STORES_BATCHES', 200, 40);
const FSYNC_BATCHES = knob('STORES_FSYNC_BATCHES', 50, 10);
const SEED = knob('STORES_SEED', 100_000, 10_000);
// our log's LOG_SEGMENT_BYTES: the default, and smaller for a quick run so retention has segments to delete
const SEGMENT_BYTES = knob('STORES_SEGMENT_BYTES', 16 << 20, 2 << 20);
const ONLY = (process.env['STORES_ONLY'] ?? '').split(',').filter(Boolean);
const ROOT = process.env['STORES_DIR'] ?? tmpdir();
const TOPICS = 100;

const CANDIDATES = [ourLog(SEGMENT_BYTES), sqlite, lmdbSync, lmdbAsync, level].filter((c) => ONLY.length === 0 || ONLY.some((o) => c.name.toLowerCase().includes(o.toLowerCase())));

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mainThreadCpu = (): number => threadTimes(process.pid).get(process.pid)!.cpu;

interface RoundFigures {
  eventsPerSec: number;
  mainCpuUs: number;
  processCpuUs: number;
}

/** One store being appended to, rounds after rounds; sequence numbers go on across them. */
class Appender {
  private seq = 1;
  readonly rounds: RoundFigures[] = [];
  private constructor(
    readonly candidate: Candidate,
    private readonly store: Store & { readonly epoch: string },
    private readonly dir: string,
  ) {}

  static async open(c: Candidate, mode: Mode): Promise<Appender> {
    const dir = mkdtempSync(join(ROOT, 'bench-stores-'));
    return new Appender(c, await c.open(dir, mode, 0), dir);
  }

  async round(batches: number, keep = true): Promise<void> {
    const todo = Array.from({ length: batches }, () => {
      const first = this.seq;
      this.seq += EVENTS_PER_BATCH;
      return makeBatch(this.store.epoch, first, this.seq - 1, (seq) => `t${seq % TOPICS}`);
    });
    const main0 = mainThreadCpu();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const b of todo) {
      await this.store.append(b);
      // the batcher hands over one batch per turn: timers (our log's 1 s fdatasync) and I/O run between
      await turn();
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const events = batches * EVENTS_PER_BATCH;
    if (keep) this.rounds.push({ eventsPerSec: events / seconds, mainCpuUs: ((mainThreadCpu() - main0) * 1e6) / events, processCpuUs: (cpu.user + cpu.system) / events });
  }

  figures(): RoundFigures {
    return {
      eventsPerSec: median(this.rounds.map((r) => r.eventsPerSec)),
      mainCpuUs: median(this.rounds.map((r) => r.mainCpuUs)),
      processCpuUs: median(this.rounds.map((r) => r.processCpuUs)),
    };
  }

  async close(): Promise<void> {
    await this.store.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Every candidate appended to in turn, round by round, so a busy spell on the machine hits them all. */
async function appendRates(mode: Mode, batches: number): Promise<Map<string, RoundFigures>> {
  const appenders: Appender[] = [];
  for (const c of CANDIDATES) appenders.push(await Appender.open(c, mode));
  try {
    for (const a of appenders) await a.round(Math.max(5, batches >> 2), false);
    for (let r = 0; r < ROUNDS; r++) {
      for (const a of appenders) await a.round(batches);
      console.error(`${mode} round ${r + 1}/${ROUNDS} done, load ${loadavg()[0]!.toFixed(2)}`);
    }
    return new Map(appenders.map((a) => [a.candidate.name, a.figures()]));
  } finally {
    for (const a of appenders) await a.close();
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  mkdirSync('results', { recursive: true });
  const m = machineInfo();
  const started = new Date().toISOString();
  const loads: string[] = [`start ${loadavg().map((l) => l.toFixed(2)).join(' ')}`];
  const write = await appendRates('write', BATCHES);
  loads.push(`after write rounds ${loadavg()[0]!.toFixed(2)}`);
  const fsync = await appendRates('fsync', FSYNC_BATCHES);
  loads.push(`after fsync rounds ${loadavg()[0]!.toFixed(2)}`);
  const bigs: BigResult[] = [];
  for (const c of CANDIDATES) {
    bigs.push(await big(c, { root: ROOT, events: EVENTS, seed: SEED, topics: TOPICS }));
    loads.push(`after ${c.name} ${EVENTS} events ${loadavg()[0]!.toFixed(2)}`);
  }
  const lines = [
    '# Event log stores',
    '',
    `${started}; ${m.cores} cores, ${m.cpuModel}, Node ${m.nodeVersion}, kernel ${m.kernel}; stores in ${ROOT}`,
    `Load average (1 min): ${loads.join('; ')}.`,
    `Command: \`${QUICK ? 'BENCH_QUICK=1 ' : ''}make bench-stores\` (node dist/bench/eventlog-stores.js).`,
    '',
    `## Appending: batches of ${EVENTS_PER_BATCH} events × ${PAYLOAD_BYTES} B of data over ${TOPICS} topics, one batch per event-loop turn`,
    '',
    `Medians of ${ROUNDS} rounds, interleaved across the stores: \`write\` ${BATCHES} batches a round, \`fsync\` (one sync per batch) ${FSYNC_BATCHES}. CPU µs per event: the main thread's (schedstat) / the whole process's (thread pools, write threads).`,
    '',
    '| store | write: events/s | write: CPU µs/event main / process | fsync: events/s | fsync: CPU µs/event main / process |',
    '| --- | --- | --- | --- | --- |',
    ...CANDIDATES.map((c) => {
      const w = write.get(c.name)!;
      const f = fsync.get(c.name)!;
      return `| ${c.name} | ${fmt(w.eventsPerSec)} | ${fmt(w.mainCpuUs, 2)} / ${fmt(w.processCpuUs, 2)} | ${fmt(f.eventsPerSec)} | ${fmt(f.mainCpuUs, 2)} / ${fmt(f.processCpuUs, 2)} |`;
    }),
    '',
    ...renderBig(bigs, EVENTS, SEED, TOPICS),
    '',
    '## Settings',
    '',
    ...CANDIDATES.map((c) => `- ${c.name}: ${c.settings}`),
  ];
  const text = lines.join('\n') + '\n';
  writeFileSync('results/eventlog-stores.md', text);
  console.log(text);
}

await main();
