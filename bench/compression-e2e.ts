// `node dist/bench/compression-e2e.js`: encode-once gzip end to end, with real sockets. For each of
// COMPRESSION=off (identity clients) and COMPRESSION=gzip (clients that send Accept-Encoding: gzip),
// a fresh server (SHARDS=1) gets E2E_SUBSCRIBERS (1000) raw HTTP subscribers in another process
// (they count bytes, decode nothing) and a JSON ticker at E2E_RATE events/s (500) for E2E_SECONDS (8).
// Reported: server CPU per delivery (utime + stime of every server thread, from /proc) and wire bytes
// per delivery (sse_sent_bytes_total), for the ratio gzip / identity.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc-stats.js';

const SUBSCRIBERS = Number(process.env['E2E_SUBSCRIBERS'] ?? 1000);
const RATE = Number(process.env['E2E_RATE'] ?? 500);
const SECONDS = Number(process.env['E2E_SECONDS'] ?? 8);
const SERVER = fileURLToPath(new URL('../src/server.js', import.meta.url));

const SYMBOLS = ['AAPL', 'MSFT', 'GOOG', 'AMZN', 'NVDA', 'META', 'TSLA', 'BRK.B', 'JPM', 'V'];
function tick(i: number): { topic: string; data: string } {
  const price = 100 + ((i * 7919) % 40_000) / 100;
  const data = JSON.stringify({ type: 'quote', symbol: SYMBOLS[i % 10], bid: price.toFixed(2), ask: (price + 0.01 * (1 + (i % 5))).toFixed(2), bidSize: 100 * (1 + ((i * 31) % 50)), askSize: 100 * (1 + ((i * 17) % 50)), ts: Date.now() });
  return { topic: 'ticker', data };
}

const SUBSCRIBER_SCRIPT = `
import http from 'node:http';
const [url, n, enc] = process.argv.slice(1);
let open = 0, bytes = 0;
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
for (let i = 0; i < Number(n); i++) {
  http.get(url, { agent, headers: { accept: 'text/event-stream', 'accept-encoding': enc } }, (res) => {
    if (++open === Number(n)) process.send('open');
    res.on('data', (b) => (bytes += b.length));
  });
}
process.on('message', () => process.send('bytes ' + bytes));
`;

async function startServer(compression: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [SERVER], { env: { ...process.env, HOST: '127.0.0.1', PORT: '0', SHARDS: '1', COMPRESSION: compression, MAX_PUBLISH_BYTES: String(1 << 20) }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', () => reject(new Error(`server exited:\n${out}`)));
  });
  return { proc, url };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

interface Row {
  compression: string;
  deliveries: number;
  wirePerDelivery: number;
  plainPerDelivery: number;
  cpuMicrosPerDelivery: number;
}

async function run(compression: 'off' | 'gzip'): Promise<Row> {
  const { proc, url } = await startServer(compression);
  const subs = spawn(process.execPath, ['--input-type=module', '-e', SUBSCRIBER_SCRIPT, `${url}/events?topic=ticker`, String(SUBSCRIBERS), compression === 'gzip' ? 'gzip' : 'identity'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(subs, 'message');
  await new Promise((r) => setTimeout(r, 1000)); // the first full flush: every subscriber in step
  // every 10 ms, RATE/100 events in one JSON publish (below 100 events/s: one event every 1000/RATE ms)
  const perTick = Math.max(1, Math.round(RATE / 100));
  const interval = (1000 * perTick) / RATE;
  let i = 0;
  const publishFor = async (ms: number): Promise<void> => {
    const end = performance.now() + ms;
    let next = performance.now();
    while (performance.now() < end) {
      const items = Array.from({ length: perTick }, () => tick(i++));
      await fetch(`${url}/publish`, { method: 'POST', body: JSON.stringify(items), headers: { 'content-type': 'application/json' } });
      next += interval;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  await publishFor(1000); // warm-up
  const d0 = await metric(url, 'sse_deliveries_total');
  const w0 = await metric(url, 'sse_sent_bytes_total');
  const p0 = await metric(url, 'sse_sent_uncompressed_bytes_total');
  const c0 = cpuSeconds(proc.pid!);
  await publishFor(SECONDS * 1000);
  await new Promise((r) => setTimeout(r, 200));
  const c1 = cpuSeconds(proc.pid!);
  const deliveries = (await metric(url, 'sse_deliveries_total')) - d0;
  const wire = (await metric(url, 'sse_sent_bytes_total')) - w0;
  const plain = (await metric(url, 'sse_sent_uncompressed_bytes_total')) - p0;
  subs.kill();
  proc.kill();
  await once(proc, 'exit');
  return { compression, deliveries, wirePerDelivery: wire / deliveries, plainPerDelivery: plain / deliveries, cpuMicrosPerDelivery: ((c1 - c0) * 1e6) / deliveries };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const c of ['off', 'gzip'] as const) rows.push(await run(c));
  const [id, gz] = rows as [Row, Row];
  console.log(`compression e2e: ${SUBSCRIBERS} subscribers × ${RATE} events/s × ${SECONDS} s, SHARDS=1; ${availableParallelism()} cores ${cpus()[0]?.model ?? ''}, Node ${process.version}`);
  for (const r of rows) console.log(`COMPRESSION=${r.compression}: ${r.deliveries} deliveries, ${r.wirePerDelivery.toFixed(1)} wire B/delivery (${r.plainPerDelivery.toFixed(1)} before compression), server CPU ${r.cpuMicrosPerDelivery.toFixed(3)} µs/delivery`);
  console.log(`gzip vs identity: ${(id.wirePerDelivery / gz.wirePerDelivery).toFixed(2)}× fewer wire bytes, ${(gz.cpuMicrosPerDelivery / id.cpuMicrosPerDelivery).toFixed(2)}× the CPU per delivery`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
