// The two-server (cluster mode) rows of results/latest.md: medians over rounds per variant, and the
// latency Redis adds, measured against the single server in the same run.
import type { PhaseResult } from '../load/load-run.js';
import type { RunRecord } from '../scenarios/context.js';
import { TWO_SERVER_VARIANTS } from '../scenarios/two-server.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function renderTwoServer(runs: RunRecord[]): string[] {
  const mine = runs.filter((r) => r.scenario === 'two-server') as unknown as Array<RunRecord & PhaseResult>;
  if (mine.length === 0) return [];
  const rows = TWO_SERVER_VARIANTS.map((v) => {
    const rs = mine.filter((r) => r.variant === v.name);
    if (rs.length === 0) return undefined;
    const m = (get: (r: PhaseResult) => number): number => median(rs.map(get));
    return {
      v,
      deliveriesPerSecond: m((r) => r.deliveriesPerSecond),
      delivered: m((r) => r.deliveryRatio * 100),
      p50: m((r) => r.latencyMs.p50),
      p99: m((r) => r.latencyMs.p99),
      publishP99: m((r) => r.publishResponseMs.p99),
      cpu: m((r) => r.server.cpuMicrosPerDelivery),
      order: m((r) => r.orderViolations),
      rounds: rs.length,
    };
  }).filter((r) => r !== undefined);
  const out = [
    '## Cluster mode: two servers and Redis',
    '',
    'The fan-out load (same subscribers, rate and payload); in the two-server row the subscribers are spread over both servers and every event is published through the first, so half of them receive events that crossed Redis to the other server. Server CPU adds up every server process (Redis not included).',
    '',
    '| variant | deliveries/s | delivered (%) | latency p50 (ms) | latency p99 (ms) | publish answered p99 (ms) | server CPU per delivery (µs) | order violations | rounds |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => `| ${r.v.label} | ${Math.round(r.deliveriesPerSecond).toLocaleString('en-US')} | ${r.delivered.toFixed(1)} | ${r.p50.toFixed(1)} | ${r.p99.toFixed(1)} | ${r.publishP99.toFixed(1)} | ${r.cpu.toFixed(2)} | ${r.order} | ${r.rounds} |`),
    '',
  ];
  const single = rows.find((r) => r.v.name === 'single');
  const onRedis = rows.find((r) => r.v.name === 'single-redis');
  const two = rows.find((r) => r.v.name === 'two-servers-redis');
  if (single && onRedis) {
    out.push(`**What Redis adds** (one server on Redis vs one server, medians): ${(onRedis.p50 - single.p50).toFixed(1)} ms at p50, ${(onRedis.p99 - single.p99).toFixed(1)} ms at p99; the publish is answered once Redis has the event (p99 ${onRedis.publishP99.toFixed(1)} ms vs ${single.publishP99.toFixed(1)} ms).${two ? ` Two servers: p50 ${(two.p50 - single.p50).toFixed(1)} ms and p99 ${(two.p99 - single.p99).toFixed(1)} ms over one server.` : ''}`);
    out.push('');
  }
  return out;
}
