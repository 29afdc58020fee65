// The durable log's figures (docs/durability.md), run by hand after a build:
//   node dist/bench/durability.js
// 1. pipelined publishes/s, one server SHARDS=1, DATA_DIR with DURABILITY=write and fsync against
//    memory only (DATA_DIR=), and the fsyncs/s that fsync made (from /proc/<pid>/io is not enough:
//    the count comes from the batches, one fdatasync per event-loop turn that wrote);
// 2. start-up time and memory with 1,000,000 retained events (a log written beforehand);
// 3. a quiet topic's resume after 1,000,000 events on other topics: request to the replay's last byte;
// 4. bytes on disk per event against its encoded SSE size.
// Every server listens on 127.0.0.1, every run is bounded in time.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../src/eventlog/event-log.js';
import { BatchBuilder } from '../src/sequencing/batch-layout.js';
import { encodePublished } from '../src/sequencing/sse-encoding.js';
import { startServer, parseVariant } from './server-process.js';

const SECONDS = Number(process.argv[2] ?? 5);
const EVENTS = Number(process.argv[3] ?? 1_000_000);
const PAYLOAD = 'x'.repeat(100);

/** Pipelined POST /publish on `connections` sockets, `depth` requests in flight each, for `ms`. */
async function pipelined(port: number, ms: number, connections = 4, depth = 64): Promise<number> {
  const body = PAYLOAD;
  const request = `POST /publish?topic=bench HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  let answered = 0;
  const deadline = Date.now() + ms;
  await Promise.all(
    Array.from({ length: connections }, () => new Promise<void>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      let inFlight = 0;
      const fill = (): void => {
        if (Date.now() > deadline) return void socket.end();
        let out = '';
        while (inFlight < depth) {
          out += request;
          inFlight++;
        }
        socket.write(out);
      };
      socket.on('connect', fill);
      socket.on('data', (chunk) => {
        const n = chunk.toString('latin1').split('HTTP/1.1 202').length - 1;
        answered += n;
        inFlight -= n;
        if (inFlight < depth / 2) fill();
      });
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    })),
  );
  return answered / (ms / 1000);
}

/** `connections` × `depth`: 4 × 64 is pipelined; 64 × 1 is one publish at a time per connection (fsync cannot pipeline). */
async function publishRate(label: string, env: Record<string, string>, connections: number, depth: number): Promise<void> {
  const server = await startServer(parseVariant('uws-1')!, env);
  await pipelined(server.port, 1_000, connections, depth); // warm-up
  const batchesBefore = await metric(server.port, 'sse_batch_events_count');
  const rate = await pipelined(server.port, SECONDS * 1000, connections, depth);
  const batches = (await metric(server.port, 'sse_batch_events_count')) - batchesBefore;
  await server.stop();
  // DURABILITY=fsync: one fdatasync per event-loop turn that wrote, so at most one per batch
  console.log(`${label}, ${connections} connections × ${depth} in flight: ${Math.round(rate)} publishes/s, ${Math.round(batches / SECONDS)} batches/s`);
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** A log of `events` events, 256 to a batch, topic `busy` but the first and the last on `quiet`. */
function writeLog(dir: string, events: number): { sseBytes: number; quietIds: string[] } {
  const log = EventLog.open({ dir, durability: 'write', fsyncMs: 1_000, segmentBytes: 16 << 20, maxEvents: events, maxAgeMs: 0, maxBytes: 0 });
  let sseBytes = 0;
  const quietIds: string[] = [];
  for (let seq = 1; seq <= events; ) {
    const b = new BatchBuilder();
    for (let i = 0; i < 256 && seq <= events; i++, seq++) {
      const topic = seq === 1 || seq === events ? 'quiet' : `busy${seq % 100}`;
      const id = `${log.epoch}-${seq}`;
      if (topic === 'quiet') quietIds.push(id);
      const bytes = encodePublished(id, { data: PAYLOAD });
      sseBytes += bytes.length;
      b.add(seq, topic, bytes);
    }
    log.append(b.seal(log.epoch));
  }
  log.close();
  return { sseBytes, quietIds };
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return Math.round(kb / 1024);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-durability-'));
  try {
    const resumeOnly = process.argv[4] === 'resume-only';
    for (let round = 0; round < 2 && !resumeOnly; round++) {
      await publishRate('memory only (DATA_DIR=)', { DATA_DIR: '' }, 4, 64);
      await publishRate('DURABILITY=write', { DATA_DIR: join(dir, `w${round}`) }, 4, 64);
    }
    for (const [label, env] of [
      ['memory only (DATA_DIR=)', { DATA_DIR: '' }],
      ['DURABILITY=write', { DATA_DIR: join(dir, 'w1') }],
      ['DURABILITY=fsync', { DATA_DIR: join(dir, 'f'), DURABILITY: 'fsync' }],
    ] as const) {
      if (!resumeOnly) await publishRate(label, env, 64, 1);
    }
    if (process.argv[4] === 'rates-only') return;

    const big = join(dir, 'big');
    const { sseBytes, quietIds } = writeLog(big, EVENTS);
    const disk = readdirSync(big).filter((n) => n.endsWith('.seg')).reduce((n, f) => n + statSync(join(big, f)).size, 0);
    console.log(`disk: ${(disk / EVENTS).toFixed(1)} bytes per event against ${(sseBytes / EVENTS).toFixed(1)} bytes of SSE (${PAYLOAD.length}-byte data)`);

    // all in memory, then the default HISTORY_MEMORY_SIZE (the quiet event is read back from the segment files)
    for (const memory of [EVENTS, undefined]) {
      const t0 = performance.now();
      const server = await startServer(parseVariant('uws-1')!, { DATA_DIR: big, HISTORY_SIZE: String(EVENTS), ...(memory === undefined ? {} : { HISTORY_MEMORY_SIZE: String(memory) }) });
      const where = memory === undefined ? 'HISTORY_MEMORY_SIZE default (100000): from disk' : `HISTORY_MEMORY_SIZE=${memory}: from memory`;
      console.log(`${where}: start-up with ${EVENTS} retained events: ${Math.round(performance.now() - t0)} ms to listening, ${rssMb(server.pid)} MB RSS`);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) times.push(await resumeMs(server.port, quietIds[0]!, quietIds[1]!));
      console.log(`  quiet-topic resume after ${EVENTS} events on other topics, request to the replay's last byte (client side, loopback), 5 in a row: ${times.map((t) => t.toFixed(1)).join(', ')} ms`);
      await server.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Opens a stream on `quiet` from `from` and resolves with the time until `until`'s event has arrived. */
function resumeMs(port: number, from: string, until: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let t0 = 0;
    socket.on('connect', () => {
      t0 = performance.now();
      socket.write(`GET /events?topic=quiet HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: ${from}\r\n\r\n`);
    });
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes(`id: ${until}\n`)) {
        resolve(performance.now() - t0);
        socket.destroy();
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error(`no replay within 10 s: ${text.slice(0, 300)}`)), 10_000).unref();
  });
}

await main();
