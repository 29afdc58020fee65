// The large-log half of the stores bench: one store filled with `events` events on busy topics
// between two events on `quiet`, then closed, and measured as a server meets it: disk bytes, open +
// recovery, the quiet topic's resume from its first id, retention of the oldest half.
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { allocatedBytes, EVENTS_PER_BATCH, makeBatch, type Candidate } from './store.js';

export interface BigResult {
  name: string;
  loadSeconds: number;
  diskPerEvent: number;
  ssePerEvent: number;
  openMs: number;
  seeded: number;
  readMs: number[];
  dropMs: number;
  diskBefore: number;
  diskAfterDrop: number;
  reclaimMs?: number;
  diskAfterReclaim?: number;
}

export interface BigOptions {
  root: string;
  events: number;
  seed: number;
  topics: number;
}

const READS = 5;

export async function big(c: Candidate, o: BigOptions): Promise<BigResult> {
  const dir = mkdtempSync(join(o.root, 'bench-stores-big-'));
  try {
    const last = o.events + 2;
    const topicOf = (seq: number): string => (seq === 1 || seq === last ? 'quiet' : `t${seq % o.topics}`);
    let store = await c.open(dir, 'write', 0);
    let sse = 0;
    const t0 = performance.now();
    for (let seq = 1, n = 0; seq <= last; seq += EVENTS_PER_BATCH, n++) {
      const b = makeBatch(store.epoch, seq, Math.min(seq + EVENTS_PER_BATCH - 1, last), topicOf);
      sse += b.sseBytes;
      await store.append(b);
      if (n % 16 === 0) await new Promise((r) => setImmediate(r));
    }
    const loadSeconds = (performance.now() - t0) / 1000;
    await store.close();
    const disk = allocatedBytes(dir);

    const t1 = performance.now();
    store = await c.open(dir, 'write', o.seed);
    const openMs = performance.now() - t1;
    if (store.lastSeq !== last) throw new Error(`${c.name}: reopened at ${store.lastSeq}, wrote ${last}`);

    const readMs: number[] = [];
    for (let i = 0; i < READS; i++) {
      const t = performance.now();
      const got = await store.readTopic('quiet', 1);
      readMs.push(performance.now() - t);
      if (got.length !== 1 || !Buffer.from(got[0]!).toString().includes(`-${last}\n`)) throw new Error(`${c.name}: quiet read gave ${got.length} events`);
    }

    const diskBefore = allocatedBytes(dir);
    const t2 = performance.now();
    await store.dropThrough(Math.floor(last / 2));
    const dropMs = performance.now() - t2;
    const diskAfterDrop = allocatedBytes(dir);
    const result: BigResult = { name: c.name, loadSeconds, diskPerEvent: disk / last, ssePerEvent: sse / last, openMs, seeded: store.seeded, readMs, dropMs, diskBefore, diskAfterDrop };
    if (store.reclaim) {
      const t3 = performance.now();
      await store.reclaim();
      result.reclaimMs = performance.now() - t3;
      result.diskAfterReclaim = allocatedBytes(dir);
    }
    const kept = await store.readTopic('quiet', 0);
    if (!Buffer.from(kept.at(-1) ?? []).toString().includes(`-${last}\n`)) throw new Error(`${c.name}: retention took the newest quiet event`);
    await store.close();
    console.error(`${c.name}: ${last} events in ${loadSeconds.toFixed(1)} s, open ${openMs.toFixed(0)} ms, drop ${dropMs.toFixed(0)} ms`);
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const pct = (a: number, b: number): string => `${Math.round((a / b) * 100)} %`;

export function renderBig(results: BigResult[], events: number, seed: number, topics: number): string[] {
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  return [
    `## A log of ${events.toLocaleString('en-US')} events on ${topics} busy topics between two on \`quiet\``,
    '',
    `Filled with \`write\` durability and closed. Open + recovery: open, find the newest sequence number, read the newest ${seed.toLocaleString('en-US')} events (the shards' memory at start; ours also rebuilds its in-memory index of every record). Quiet read: the events on \`quiet\` after its first id (one event, the last), ${READS} in a row: the first, then the median of the others. Retention: the events up to the middle deleted (ours: the whole segments up to it); disk is what the file system has allocated (st_blocks), before, after, and after the store's reclaim step where it has one.`,
    '',
    '| store | fill | disk B/event (SSE B/event) | open + recovery | quiet read: first / median of the rest | drop oldest 50 % | disk after drop | reclaim step | disk after reclaim |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map((r) => {
      const reads = sorted(r.readMs.slice(1));
      const reclaim = r.reclaimMs === undefined ? 'none' : `${r.reclaimMs.toFixed(0)} ms`;
      const after = r.diskAfterReclaim === undefined ? '-' : `${mb(r.diskAfterReclaim)} (${pct(r.diskAfterReclaim, r.diskBefore)})`;
      return `| ${r.name} | ${r.loadSeconds.toFixed(1)} s | ${r.diskPerEvent.toFixed(1)} (${r.ssePerEvent.toFixed(1)}) | ${r.openMs.toFixed(0)} ms | ${r.readMs[0]!.toFixed(2)} / ${reads[reads.length >> 1]!.toFixed(2)} ms | ${r.dropMs.toFixed(0)} ms | ${mb(r.diskAfterDrop)} of ${mb(r.diskBefore)} (${pct(r.diskAfterDrop, r.diskBefore)}) | ${reclaim} | ${after} |`;
    }),
  ];
}
