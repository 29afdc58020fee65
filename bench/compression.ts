// `make bench-compression` (node dist/bench/compression.js): what encode-once gzip costs and saves per
// delivery, in one process, without sockets: a real Shard (history, hub passes, segments) fans a
// realistic JSON ticker out to subscribers that each have the transport's WriteQueue (never blocked),
// which counts the wire bytes. Three variants, side by side, same events:
// - identity: what the server sends today;
// - gzip, encode-once: COMPRESSION=gzip, one shared deflate context per group (src/fanout/gzip-group.ts);
// - gzip per connection: the same zlib settings but one context per subscriber (what nginx `gzip on`
//   or a node:http server compressing each response does), for the ratio.
// CPU is process.cpuUsage (user + system) over the whole run divided by deliveries. Socket writes are
// not in it (they cost about 1 µs per write on the machines of results/latest.md and are the same for
// every variant, minus the bytes gzip saves), so the ratio to identity here is an upper bound.
// Env: COMP_SUBSCRIBERS (1000), COMP_PASSES (2000).
import { availableParallelism, cpus } from 'node:os';
import { loadConfig } from '../src/config/config.js';
import { GzipGroups, type GzipEncoder } from '../src/fanout/gzip-group.js';
import { Shard, type Stream } from '../src/fanout/shard.js';
import { WriteQueue } from '../src/fanout/write-queue.js';
import { BatchBuilder } from '../src/sequencing/batch-layout.js';
import { formatId } from '../src/sequencing/event-ids.js';
import { encodeEvent } from '../src/sequencing/sse-encoding.js';
import { createSharedCounters } from '../src/threads/shared-counters.js';
import { tick } from './load/payloads.js';

const EPOCH = '0123456789ab';
const SUBSCRIBERS = Number(process.env['COMP_SUBSCRIBERS'] ?? 1000);
const PASSES = Number(process.env['COMP_PASSES'] ?? 2000);

class CountingStream implements Stream {
  lastSeq = 0;
  wire = 0;
  plain = 0;
  deliveries = 0;
  readonly queue: WriteQueue;
  constructor(
    readonly topics: readonly string[],
    readonly gzip: GzipEncoder | undefined,
  ) {
    this.queue = new WriteQueue({ maxBackpressure: 1 << 20, slowConsumer: 'disconnect' }, { dropped() {}, resetSent() {}, queued() {} }, gzip);
  }
  send(bytes: Uint8Array, events: number): void {
    const v = this.queue.offer(bytes, events);
    if (!(v instanceof Uint8Array)) throw new Error(`unexpected verdict ${String(v)}`);
    this.queue.written(v.length, true, true);
    this.wire += v.length;
    this.plain += bytes.length;
    this.deliveries += events;
  }
  end(): void {}
}

type Variant = 'identity' | 'gzip encode-once' | 'gzip per connection';

interface Result {
  variant: Variant;
  eventsPerPass: number;
  wireBytesPerDelivery: number;
  plainBytesPerDelivery: number;
  cpuMicrosPerDelivery: number;
  deliveries: number;
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function run(variant: Variant, eventsPerPass: number): Promise<Result> {
  const config = loadConfig({ SEGMENT_SIZE: '512', HISTORY_SIZE: '10000' });
  const shard = new Shard(config, 0, createSharedCounters(1), EPOCH);
  const shared = new GzipGroups();
  const streams: CountingStream[] = [];
  const topics = ['ticker'];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    // per connection: a group of its own (one deflate context each), same zlib settings
    const gzip = variant === 'identity' ? undefined : variant === 'gzip encode-once' ? shared.encoder(topics) : new GzipGroups().encoder(topics);
    const s = new CountingStream(topics, gzip);
    shard.subscribe(s, undefined); // a new stream: nothing to replay
    s.queue.written(0, true, false);
    if (gzip) gzip.open(Buffer.from(':ok\n\nretry: 3000\n\n'));
    streams.push(s);
  }
  let seq = 0;
  const publishPass = (): void => {
    const b = new BatchBuilder();
    for (let k = 0; k < eventsPerPass; k++) {
      seq++;
      b.add(seq, 'ticker', encodeEvent({ id: formatId(EPOCH, seq), data: tick(seq) }));
    }
    shard.receive(b.seal(EPOCH));
  };
  const waitPass = async (): Promise<void> => {
    while (streams[streams.length - 1]!.lastSeq < seq) await turn();
  };
  // warm-up: JIT, and past the first full-flush window (members that joined out of step are in step)
  for (let p = 0; p < 200; p++) {
    publishPass();
    await waitPass();
    if (p === 100) await new Promise((r) => setTimeout(r, 300));
  }
  for (const s of streams) s.wire = s.plain = s.deliveries = 0;
  const cpu0 = process.cpuUsage();
  for (let p = 0; p < PASSES; p++) {
    publishPass();
    await waitPass();
  }
  const cpu = process.cpuUsage(cpu0);
  let wire = 0;
  let plain = 0;
  let deliveries = 0;
  for (const s of streams) {
    wire += s.wire;
    plain += s.plain;
    deliveries += s.deliveries;
    s.gzip?.close();
    shard.unsubscribe(s);
  }
  return {
    variant,
    eventsPerPass,
    wireBytesPerDelivery: wire / deliveries,
    plainBytesPerDelivery: plain / deliveries,
    cpuMicrosPerDelivery: (cpu.user + cpu.system) / deliveries,
    deliveries,
  };
}

async function main(): Promise<void> {
  const results: Result[] = [];
  // 1 event per pass: 50 events/s (each its own pass); 5 per pass: 500 events/s with BATCH_MS=10
  for (const eventsPerPass of [1, 5]) {
    for (const variant of ['identity', 'gzip encode-once', 'gzip per connection'] as const) {
      const r = await run(variant, eventsPerPass);
      results.push(r);
      console.error(`${variant}, ${eventsPerPass} event(s)/pass: ${r.wireBytesPerDelivery.toFixed(1)} B/delivery, ${r.cpuMicrosPerDelivery.toFixed(3)} µs/delivery`);
    }
  }
  const lines = [
    `compression bench: ${SUBSCRIBERS} subscribers in one group, ${PASSES} passes, ticker JSON; ${availableParallelism()} cores ${cpus()[0]?.model ?? ''}, Node ${process.version}`,
    '',
    '| events per pass | variant | wire B per delivery | bytes ratio vs identity | CPU µs per delivery (no sockets) | CPU ratio vs identity |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of results) {
    const id = results.find((x) => x.variant === 'identity' && x.eventsPerPass === r.eventsPerPass)!;
    lines.push(
      `| ${r.eventsPerPass} | ${r.variant} | ${r.wireBytesPerDelivery.toFixed(1)} | ${(id.wireBytesPerDelivery / r.wireBytesPerDelivery).toFixed(2)}× fewer | ${r.cpuMicrosPerDelivery.toFixed(3)} | ${(r.cpuMicrosPerDelivery / id.cpuMicrosPerDelivery).toFixed(2)}× |`,
    );
  }
  console.log(lines.join('\n'));
  console.log(JSON.stringify(results));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
