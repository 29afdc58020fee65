// Clients that follow their server through a handover or a restart, on a subscriber process's side:
// when the server closes a stream (draining), the client reconnects after retryMs with the id of the
// last event it received as Last-Event-ID, and tries again after each failure (connection refused
// while no server listens, a 503, a timeout), as a browser's EventSource does. What each client
// received is counted by the tracked phase (stormReport); this counts the closes and the way back.
import { LatencyHistogram } from './latency-histogram.js';
import { nowUs, type FollowReport, type SubscriberRequest } from './messages.js';
import type { Client, StreamPool } from './subscriber-streams.js';

type Follow = Extract<SubscriberRequest, { type: 'follow' }>;

export class Followers {
  private readonly away = new LatencyHistogram();
  /** clients without a stream since (hrtime µs) */
  private readonly awaySince = new Map<Client, number>();
  private readonly closedOnce = new Set<Client>();
  private readonly report: FollowReport = {
    serverCloses: 0,
    reconnected: 0,
    failedAttempts: 0,
    failures: {},
    clientsClosed: 0,
    clientsAway: 0,
    firstCloseUs: 0,
    lastHeadUs: 0,
    away: this.away.toData(),
  };

  constructor(
    private readonly pool: StreamPool,
    private readonly r: Follow,
  ) {
    pool.onServerClose = (client) => {
      const now = nowUs();
      this.report.serverCloses++;
      if (this.report.firstCloseUs === 0) this.report.firstCloseUs = now;
      this.closedOnce.add(client);
      this.awaySince.set(client, now);
      this.later(client);
    };
  }

  private later(client: Client): void {
    setTimeout(() => this.reopen(client), this.r.retryMs);
  }

  private reopen(client: Client): void {
    const { pool, r, report } = this;
    if (pool.onServerClose === undefined) return; // disconnected: the run is over
    pool.openOne(r.target, pool.request(r.target, r.topic, client.lastId), r.timeoutMs, client, true, (failure, s) => {
      if (failure !== undefined) {
        report.failedAttempts++;
        report.failures[failure] = (report.failures[failure] ?? 0) + 1;
        this.later(client);
        return;
      }
      report.reconnected++;
      client.backUs = s.headAtUs;
      this.away.record(s.headAtUs - (this.awaySince.get(client) ?? s.headAtUs));
      this.awaySince.delete(client);
      if (s.headAtUs > report.lastHeadUs) report.lastHeadUs = s.headAtUs;
    });
  }

  toReport(): FollowReport {
    return { ...this.report, clientsClosed: this.closedOnce.size, clientsAway: this.awaySince.size, away: this.away.toData() };
  }
}
