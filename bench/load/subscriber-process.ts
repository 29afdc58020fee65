// A load-generator process holding many SSE subscribers on raw TCP sockets (subscriber-streams.ts).
// Opens them with bounded concurrency, parses every event, and per phase counts deliveries, order
// violations and publish-to-receive latency (phase-counters.ts; the publisher stamps each payload
// with CLOCK_MONOTONIC, this process reads the same clock once per socket read, when the bytes reach
// JavaScript). For the reconnect storm (reconnect-storm.ts), each subscriber is a client that
// outlives its connections: it closes its stream when told and reconnects at once with the last id
// it received as `Last-Event-ID`, as a browser's EventSource does. For a handover or a restart
// (following-clients.ts), each reconnects by itself when the server closes its stream.
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import type { ConnectReport, Progress, SubscriberRequest } from './messages.js';
import { Followers } from './following-clients.js';
import { PhaseCounters } from './phase-counters.js';
import { storm, stormReport } from './reconnect-storm.js';
import { Client, StreamPool } from './subscriber-streams.js';

const counters = new PhaseCounters();
const pool = new StreamPool(counters);
let followers: Followers | undefined;

function connect(r: Extract<SubscriberRequest, { type: 'connect' }>): Promise<ConnectReport> {
  const started = performance.now();
  pool.acceptGzip = r.acceptGzip;
  const request = pool.request(r.target, r.topic);
  let next = 0;
  let inFlight = 0;
  let connected = 0;
  let failed = 0;
  const failures: Record<string, number> = {};
  return new Promise((resolve) => {
    const settle = (failure: string | undefined): void => {
      inFlight--;
      if (failure === undefined) connected++;
      else {
        failed++;
        failures[failure] = (failures[failure] ?? 0) + 1;
      }
      if (connected + failed === r.count) {
        resolve({ connected, failed, failures, seconds: (performance.now() - started) / 1000 });
      } else pump();
    };
    const pump = (): void => {
      while (inFlight < r.concurrency && next < r.count) {
        next++;
        inFlight++;
        const client = new Client();
        pool.openOne(r.target, request, r.timeoutMs, client, false, (failure) => {
          if (failure === undefined) pool.clients.push(client);
          settle(failure);
        });
      }
    };
    if (r.count === 0) resolve({ connected: 0, failed: 0, failures, seconds: 0 });
    else pump();
  });
}

function phaseStart(phase: number, track: boolean): void {
  if (track) for (const c of pool.clients) c.startTracking();
  counters.start(phase, track, pool.open);
}

serveParent<SubscriberRequest>((m): unknown => {
  switch (m.type) {
    case 'connect':
      return connect(m);
    case 'phase-start':
      return phaseStart(m.phase, m.track === true);
    case 'progress':
      return { received: counters.received, open: pool.open } satisfies Progress;
    case 'phase-report':
      return counters.report(pool.open);
    case 'disconnect':
      return pool.disconnectAll();
    case 'storm':
      return storm(pool, m);
    case 'storm-report':
      return stormReport(pool, m.sent, m.notAccepted);
    case 'follow':
      followers = new Followers(pool, m);
      return;
    case 'follow-report':
      return followers?.toReport();
  }
});
