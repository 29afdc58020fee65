// A DATA_DIR log written beforehand for the durability scenario's start-up and resume figures: many
// events on busy topics with one quiet topic's event at each end, and a client that times a quiet
// topic's resume over raw TCP (request to the replay's last byte).
import { readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { EventLog } from '../../src/eventlog/event-log.js';
import { BatchBuilder } from '../../src/sequencing/batch-layout.js';
import { encodePublished } from '../../src/sequencing/sse-encoding.js';

export const QUIET_TOPIC = 'quiet';
/** busy topics, all of them in every batch: a quiet topic's resume can skip no batch by its topics alone */
const BUSY_TOPICS = 100;
const BATCH = 256;

export interface QuietLog {
  /** the quiet topic's two ids: the first event of the log and the last */
  quietIds: [string, string];
  /** the events' SSE bytes as subscribers receive them */
  sseBytes: number;
  /** the segment files' bytes */
  diskBytes: number;
}

/** `events` events in `BATCH`-event batches, written as the server writes them (EventLog), closed cleanly. */
export function writeQuietLog(dir: string, events: number, payloadBytes: number): QuietLog {
  const log = EventLog.open({ dir, durability: 'write', fsyncMs: 1_000, segmentBytes: 16 << 20, maxEvents: events, maxAgeMs: 0, maxBytes: 0 });
  const data = 'x'.repeat(payloadBytes);
  let sseBytes = 0;
  const quiet: string[] = [];
  for (let seq = 1; seq <= events; ) {
    const b = new BatchBuilder();
    for (let i = 0; i < BATCH && seq <= events; i++, seq++) {
      const topic = seq === 1 || seq === events ? QUIET_TOPIC : `busy${seq % BUSY_TOPICS}`;
      const id = `${log.epoch}-${seq}`;
      if (topic === QUIET_TOPIC) quiet.push(id);
      const bytes = encodePublished(id, { data });
      sseBytes += bytes.length;
      b.add(seq, topic, bytes);
    }
    log.append(b.seal(log.epoch));
  }
  log.close();
  const diskBytes = readdirSync(dir).filter((n) => n.endsWith('.seg')).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  return { quietIds: [quiet[0]!, quiet[1]!], sseBytes, diskBytes };
}

/** Opens a stream on the quiet topic from `from` and resolves with the ms from writing the request until `until`'s event has arrived. */
export function timeQuietResume(port: number, from: string, until: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let t0 = 0;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no replay within ${timeoutMs} ms: ${text.slice(0, 300)}`));
    }, timeoutMs);
    socket.on('connect', () => {
      t0 = performance.now();
      socket.write(`GET /events?topic=${QUIET_TOPIC} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nLast-Event-ID: ${from}\r\n\r\n`);
    });
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (!text.includes(`id: ${until}\n`)) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      socket.destroy();
      // a reset frame instead of the replay would make the time meaningless
      if (text.includes('event: reset')) reject(new Error(`the resume got a reset frame: ${text.slice(0, 300)}`));
      else resolve(ms);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
