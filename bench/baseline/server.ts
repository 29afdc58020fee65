// The baseline: an SSE push server written the way most people write one by hand with node:http.
// A map of topic to the set of open responses; a publish formats the event once and calls
// res.write() on every subscriber before answering. No uWS, no batching, no worker threads.
//
// It serves the subset of the contract the bench uses: GET /events?topic=T (repeatable), POST
// /publish?topic=T with the raw body as data -> 202 {"id"}, ids `<epoch>-<seq>`, `:ok` and `retry:`
// first, a comment every HEARTBEAT_MS. Prints `listening on http://HOST:PORT` like the real server.
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const HOST = process.env['HOST'] ?? '127.0.0.1';
const PORT = Number(process.env['PORT'] ?? 8080);
const HEARTBEAT_MS = Number(process.env['HEARTBEAT_MS'] ?? 15_000);
const RETRY_MS = Number(process.env['RETRY_MS'] ?? 3_000);
const MAX_PUBLISH_BYTES = 65_536;
const TOPIC = /^[A-Za-z0-9_.:/-]{1,128}$/;

const epoch = randomBytes(6).toString('hex');
let seq = 0;
const subscribers = new Map<string, Set<http.ServerResponse>>();
const everyone = new Set<http.ServerResponse>();

function fail(res: http.ServerResponse, status: number, code: string, error: string): void {
  const body = JSON.stringify({ error, code });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function subscribe(req: http.IncomingMessage, res: http.ServerResponse, topics: string[]): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
  });
  res.write(`:ok\n\nretry: ${RETRY_MS}\n\n`);
  for (const t of topics) {
    let set = subscribers.get(t);
    if (set === undefined) subscribers.set(t, (set = new Set()));
    set.add(res);
  }
  everyone.add(res);
  req.on('close', () => {
    everyone.delete(res);
    for (const t of topics) {
      const set = subscribers.get(t);
      set?.delete(res);
      if (set?.size === 0) subscribers.delete(t);
    }
  });
}

function publish(req: http.IncomingMessage, res: http.ServerResponse, topic: string): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_PUBLISH_BYTES) chunks.push(c);
  });
  req.on('end', () => {
    if (size > MAX_PUBLISH_BYTES) return fail(res, 413, 'BODY_TOO_LARGE', 'body too large');
    const data = Buffer.concat(chunks).toString('utf8');
    const id = `${epoch}-${++seq}`;
    let frame = `id: ${id}\n`;
    for (const line of data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
    frame += '\n';
    for (const sub of subscribers.get(topic) ?? []) sub.write(frame);
    const body = JSON.stringify({ id });
    res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/events' && req.method === 'GET') {
    const topics = url.searchParams.getAll('topic');
    if (topics.length === 0 || !topics.every((t) => TOPIC.test(t))) return fail(res, 400, 'BAD_TOPIC', 'bad topic');
    return subscribe(req, res, topics);
  }
  if (url.pathname === '/publish' && req.method === 'POST') {
    const topic = url.searchParams.get('topic') ?? '';
    if (!TOPIC.test(topic)) return fail(res, 400, 'BAD_TOPIC', 'bad topic');
    return publish(req, res, topic);
  }
  fail(res, 404, 'NOT_FOUND', 'not found');
});

setInterval(() => {
  for (const res of everyone) res.write(':\n\n');
}, HEARTBEAT_MS).unref();

server.listen(PORT, HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  console.log(`listening on http://${HOST === '0.0.0.0' ? '127.0.0.1' : HOST}:${port} (epoch ${epoch})`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    for (const res of everyone) res.end();
    server.close();
    process.exit(0);
  });
}
