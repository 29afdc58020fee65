// results/latest.md, section "Publishing": what bounds the publish rate when autocannon shares the
// cores with the server (its own CPU per publish), and one server in cluster mode on one Redis.
import { CLUSTER_PUBLISH_VARIANTS } from '../scenarios/publish-throughput.js';
import type { ResultsFile } from './results-file.js';
import { PUBLISH_SCENARIOS } from './summarise.js';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

export function renderPublish(r: ResultsFile): string[] {
  const out: string[] = [];
  const figure = (scenario: string, key: string): Record<string, number> | undefined => r.figures.find((f) => f.scenario === scenario && f.key === key)?.values;
  for (const scenario of PUBLISH_SCENARIOS) {
    const generator = figure(scenario, 'generatorCpuPerPublish');
    const base = figure(scenario, 'publishesPerSecond')?.['baseline'];
    if (generator === undefined || base === undefined) continue;
    const cheapest = Math.min(...Object.values(generator).filter((x) => x > 0));
    const how = scenario === PUBLISH_SCENARIOS[0] ? `one publish at a time per connection` : `pipelined ${r.settings.publishThroughput.pipelined} deep`;
    const floor = figure(scenario, 'serverCpuPerPublish')?.['floor'];
    const baseCpu = figure(scenario, 'serverCpuPerPublish')?.['baseline'];
    // autocannon is one thread: one core at most; and the cores it shares hold the server's cost too
    const oneThread = 1e6 / cheapest;
    const shared = (r.machine.cores * 1e6) / (cheapest + (floor ?? 0));
    const ceiling = Math.min(oneThread, shared);
    const floorText =
      floor === undefined || baseCpu === undefined
        ? ''
        : ` A bare uWS app that reads the body and answers 202, nothing else (\`bench/baseline/uws-floor.ts\`), cost ${floor.toFixed(1)} µs of server CPU per publish: ${(floor / baseCpu).toFixed(2)}× the baseline's, the least any server on this uWS build can cost here.`;
    out.push(
      `- **${how}:** autocannon spent at least ${cheapest.toFixed(1)} µs of CPU per publish. On its one thread it cannot send more than ${n(oneThread)} publishes/s; ` +
        `sharing ${r.machine.cores} cores with a server that costs ${floor === undefined ? 'nothing' : 'what the bare uWS app below costs'}, no more than ${n(shared)}: ` +
        `${(ceiling / base).toFixed(2)}× the baseline's rate is the most any server ${floor === undefined ? '' : 'built on this uWS build '}can show here.${floorText}`,
    );
  }
  const rate = figure(PUBLISH_SCENARIOS[0], 'publishesPerSecond');
  const cpu = figure(PUBLISH_SCENARIOS[0], 'serverCpuPerPublish');
  const p99 = figure(PUBLISH_SCENARIOS[0], 'publishP99');
  const connections = [r.settings.publishThroughput.connections, r.settings.publishThroughput.clusterConnections];
  const rows = CLUSTER_PUBLISH_VARIANTS.flatMap((v, i) =>
    rate?.[v] === undefined ? [] : [`| ${connections[i]} | ${n(rate[v])} | ${cpu?.[v]?.toFixed(1) ?? 'n/a'} | ${p99?.[v] ?? 'n/a'} |`],
  );
  if (rows.length > 0) {
    if (out.length > 0) out.push('');
    out.push(
      'One server (SHARDS=1) in cluster mode on one fresh redis-server, the same autocannon load, then more concurrent publishers (pipelining is not possible here: the answer waits for Redis, and uWS closes a connection that pipelines while an answer is pending). The shard calls Redis itself, on its own connection, one script call on its way at a time; publishes that arrive meanwhile share the next. The main thread reads the stream back and batches it. Server CPU does not include Redis. Medians over the rounds.',
      '',
      '| connections | events/s into Redis | server CPU per publish (µs) | latency p99 (ms) |',
      '| ---: | ---: | ---: | ---: |',
      ...rows,
    );
  }
  return out.length === 0 ? [] : ['## Publishing', '', ...out, ''];
}
