// The baseline: an SSE push server written the way most people write one by hand with node:http.
// A map of topic to the set of open responses; a publish formats the event once and calls
// res.write() on every subscriber before answering. No uWS, no batching, no worker threads.
//
// It serves the subset of the contract the bench uses: GET /events?topic=T (repeatable), POST
// /publish?topic=T with the raw body as data -> 202 {"id"}, ids `<epoch>-<seq>`, `:ok` and `retry:`
// first, a comment every HEARTBEAT_MS. Prints `listening on http://HOST:PORT` like the real server.
//
// BASELINE_GZIP=1: a stream whose request accepts gzip is compressed the way a node:http server
// does it per connection: one zlib gzip stream per response (level 6, as the uWS server's), flushed
// (Z_SYNC_FLUSH) after every write so that each event leaves at once. node:zlib streams work on the
// threadpool, so a publish is answered once every subscriber's flush is done, as an identity
// publish is answered once every res.write() returned.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import zlib from 'node:zlib';

const HOST = process.env['HOST'] ?? '127.0.0.1';
const PORT = Number(process.env['PORT'] ?? 8080);
const HEARTBEAT_MS = Number(process.env['HEARTBEAT_MS'] ?? 15_000);
const RETRY_MS = Number(process.env['RETRY_MS'] ?? 3_000);
const GZIP = process.env['BASELINE_GZIP'] === '1';
const MAX_PUBLISH_BYTES = 65_536;
const TOPIC = /^[A-Za-z0-9_.:/-]{1,128}$/;

const epoch = randomBytes(6).toString('hex');
let seq = 0;

/** One open stream: `done` is called once the frame is handed to the socket. */
interface Subscriber {
  send(frame: string, done?: () => void): void;
  end(): void;
}

function identity(res: http.ServerResponse): Subscriber {
  return {
    send(frame, done) {
      res.write(frame);
      done?.();
    },
    end: () => res.end(),
  };
}

function gzipped(res: http.ServerResponse): Subscriber {
  const gz = zlib.createGzip();
  gz.pipe(res);
  return {
    send(frame, done) {
      gz.write(frame);
      gz.flush(zlib.constants.Z_SYNC_FLUSH, () => done?.());
    },
    end: () => gz.end(),
  };
}

const subscribers = new Map<string, Set<Subscriber>>();
const everyone = new Set<Subscriber>();

function fail(res: http.ServerResponse, status: number, code: string, error: string): void {
  const body = JSON.stringify({ error, code });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function subscribe(req: http.IncomingMessage, res: http.ServerResponse, topics: string[]): void {
  const gzip = GZIP && /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
    'X-Accel-Buffering': 'no',
    ...(gzip ? { 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' } : {}),
  });
  const sub = gzip ? gzipped(res) : identity(res);
  sub.send(`:ok\n\nretry: ${RETRY_MS}\n\n`);
  for (const t of topics) {
    let set = subscribers.get(t);
    if (set === undefined) subscribers.set(t, (set = new Set()));
    set.add(sub);
  }
  everyone.add(sub);
  req.on('close', () => {
    everyone.delete(sub);
    for (const t of topics) {
      const set = subscribers.get(t);
      set?.delete(sub);
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
    const body = JSON.stringify({ id });
    let pending = 1;
    const answer = (): void => {
      if (--pending > 0) return;
      res.writeHead(202, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    for (const sub of subscribers.get(topic) ?? []) {
      pending++;
      sub.send(frame, answer);
    }
    answer();
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
  for (const sub of everyone) sub.send(':\n\n');
}, HEARTBEAT_MS).unref();

server.listen(PORT, HOST, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : PORT;
  console.log(`listening on http://${HOST === '0.0.0.0' ? '127.0.0.1' : HOST}:${port} (epoch ${epoch})`);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    for (const sub of everyone) sub.end();
    server.close();
    process.exit(0);
  });
}
