// A shard: a worker thread with its own uWS app (a child of the main thread's acceptor), its own
// connections, history mirror and hub. Receives batches in order; asks the main thread to sequence
// publishes and to render metrics.
import { parentPort, workerData } from 'node:worker_threads';
import { HttpError, type ErrorCode } from './errors.js';
import type { PublishItem } from './publish-request.js';
import { Shard, type Backend } from './shard.js';
import { Coalescer, type FromShard, type PublishRequest, type ShardInit, type ToShard } from './shard-protocol.js';
import { attachSharedCounters } from './shared-counters.js';
import { HttpApp } from './transport/http-app.js';

const init = workerData as ShardInit;
const port = parentPort!;
const post = (m: FromShard): void => port.postMessage(m);

const shard = new Shard(init.config, init.index, attachSharedCounters(init.counters, init.shardRows), init.epoch);
shard.seed(init.history);

const waiting = new Map<number, { resolve: (v: never) => void; reject: (e: unknown) => void }>();
let nextReq = 1;
function ask<T>(send: (reqId: number) => void): Promise<T> {
  const reqId = nextReq++;
  return new Promise<T>((resolve, reject) => {
    waiting.set(reqId, { resolve: resolve as (v: never) => void, reject });
    send(reqId);
  });
}
const publishes = new Coalescer<PublishRequest>((requests) => post({ type: 'publish', requests }));
const backend: Backend = {
  publish: (items: PublishItem[], receivedAt: number) => ask<string[]>((reqId) => publishes.push({ reqId, items, receivedAt })),
  metricsText: () => ask<string>((reqId) => post({ type: 'metrics', reqId })),
};

const http = new HttpApp({
  config: init.config,
  shard,
  backend,
  tls: init.config.tlsCertFile !== undefined,
  debug: init.config.debugFaults
    ? {
        crash() {
          throw new Error('fault injected by POST /_debug/crash-shard');
        },
        closeAllStreams: () => post({ type: 'close-all-streams' }),
      }
    : undefined,
});
http.startHeartbeats();

function settle(reqId: number, ok: boolean, value: unknown): void {
  const w = waiting.get(reqId);
  waiting.delete(reqId);
  if (w === undefined) return;
  if (ok) w.resolve(value as never);
  else w.reject(value);
}

// The listener also keeps this thread alive: the app never listens itself, and a thread that ends
// would reset the sockets the acceptor hands to it.
port.on('message', (m: ToShard) => {
  switch (m.type) {
    case 'batch':
      return shard.receive(m.batch);
    case 'published':
      for (const r of m.results) {
        if ('ids' in r) settle(r.reqId, true, r.ids);
        else settle(r.reqId, false, new HttpError(r.code as ErrorCode, r.message));
      }
      return;
    case 'metrics':
      return settle(m.reqId, true, m.text);
    case 'close-streams':
      return http.endAllStreams();
    case 'drain':
      void http.drain(m.ms).then(() => {
        http.close();
        post({ type: 'drained' });
        port.close();
      });
      return;
  }
});

// A fatal error must not escape: an uncaught exception in a thread holding uWS sockets aborts the
// whole process. Close the app (its clients reconnect elsewhere and resume) and end this thread.
process.on('uncaughtException', (err) => {
  post({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  try {
    http.close();
  } finally {
    port.close();
  }
});

post({ type: 'ready', descriptor: http.app.getDescriptor() });
