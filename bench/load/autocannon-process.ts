// Publish throughput with autocannon (programmatic API), in a process of its own: as many
// POST /publish as `connections` keep-alive connections can get answered in the time given.
import autocannon from 'autocannon';
import { performance } from 'node:perf_hooks';
import { serveParent } from '../processes.js';
import type { AutocannonReport, AutocannonRequest } from './messages.js';

async function run(r: AutocannonRequest): Promise<AutocannonReport> {
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const result = await autocannon({
    url: r.url,
    method: 'POST',
    body: r.body,
    headers: { 'content-type': 'text/plain' },
    connections: r.connections,
    pipelining: r.pipelining,
    duration: r.seconds,
  });
  const cpu = process.cpuUsage(cpu0);
  const accepted = result.statusCodeStats['202']?.count ?? 0;
  return {
    requestsPerSecond: result.requests.total / result.duration,
    requests: result.requests.total,
    accepted: Number(accepted),
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    wallSeconds: (performance.now() - wall0) / 1000,
  };
}

serveParent<AutocannonRequest>((m) => run(m));
