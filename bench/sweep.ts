// `make bench-sweep`: the fan-out scenario (BENCH_SUBSCRIBERS × BENCH_RATE) against the uWS server
// for every combination of BATCH_SIZE × BATCH_MS × SEGMENT_SIZE × SHARDS (BENCH_SWEEP_* lists), one
// short run each in a fresh server. Writes results/sweep-<timestamp>.json and results/sweep-latest.md,
// sorted by server CPU per delivery, and names the best combination that kept ≥ 99.9% delivered and
// p99 < 100 ms. BATCH_MS is swept too: at a few hundred events/s a 2 ms batch holds about one event,
// so BATCH_SIZE alone changes nothing; the batch interval is what lets batches grow.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describePhase, LoadRun, type PhaseResult } from './load/load-run.js';
import { machineInfo } from './proc-stats.js';
import { watchdog } from './processes.js';
import { formatValue } from './report/markdown.js';
import { writeAtomically } from './report/results-file.js';
import { makeContext } from './scenarios/context.js';
import { parseVariant, startServer } from './server-process.js';
import { loadSettingsOrExit } from './settings.js';

interface SweepPoint {
  batchSize: number;
  batchMs: number;
  segmentSize: number;
  shards: number;
  result: PhaseResult;
  passed: boolean;
}

async function main(): Promise<void> {
  const settings = loadSettingsOrExit();
  const { sweep, fanOut } = settings;
  const combos = sweep.batchSizes.flatMap((batchSize) => sweep.batchMs.flatMap((batchMs) => sweep.segmentSizes.flatMap((segmentSize) => sweep.shards.map((shards) => ({ batchSize, batchMs, segmentSize, shards })))));
  // about 3 s per point besides the measured window (start, connect, warm-up, drain, stop)
  watchdog(Math.max(settings.timeoutSeconds, Math.ceil(combos.length * (sweep.seconds + sweep.warmupSeconds + 8)) + 60));
  mkdirSync(settings.resultsDir, { recursive: true });
  const machine = machineInfo();
  const started = new Date();
  const ctx = makeContext(settings, () => undefined);
  ctx.log(`bench-sweep: ${combos.length} combinations of BATCH_SIZE ${sweep.batchSizes} × BATCH_MS ${sweep.batchMs} × SEGMENT_SIZE ${sweep.segmentSizes} × SHARDS ${sweep.shards}; fan-out ${fanOut.subscribers} subscribers × ${fanOut.rate} events/s, ${sweep.seconds} s each`);

  const points: SweepPoint[] = [];
  for (const [i, c] of combos.entries()) {
    const tag = `sweep ${i + 1}/${combos.length} BATCH_SIZE=${c.batchSize} BATCH_MS=${c.batchMs} SEGMENT_SIZE=${c.segmentSize} SHARDS=${c.shards}`;
    const server = await startServer(parseVariant(`uws-${c.shards}`)!, { BATCH_SIZE: String(c.batchSize), BATCH_MS: String(c.batchMs), SEGMENT_SIZE: String(c.segmentSize) }, settings.serverNodeFlags);
    let run: LoadRun | undefined;
    try {
      run = await LoadRun.start(server, server.pid, fanOut.subscribers, settings);
      if (sweep.warmupSeconds > 0) await run.phase(fanOut.rate, sweep.warmupSeconds, fanOut.payloadBytes);
      const result = await run.phase(fanOut.rate, sweep.seconds, fanOut.payloadBytes);
      const passed = result.deliveryRatio >= settings.saturation.minDeliveryRatio && result.latencyMs.p99 < settings.saturation.maxP99Ms && result.published.accepted >= 0.99 * result.published.target;
      points.push({ ...c, result, passed });
      ctx.log(`${tag}: ${describePhase(result)}`);
    } finally {
      await run?.stop();
      await server.stop();
    }
  }

  const sorted = [...points].sort((a, b) => a.result.server.cpuMicrosPerDelivery - b.result.server.cpuMicrosPerDelivery);
  const best = sorted.find((p) => p.passed);
  const lowestP99 = [...points].filter((p) => p.passed).sort((a, b) => a.result.latencyMs.p99 - b.result.latencyMs.p99)[0];
  const stamp = started.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const jsonPath = join(settings.resultsDir, `sweep-${stamp}.json`);
  const durationSeconds = (Date.now() - started.getTime()) / 1000;
  writeAtomically(jsonPath, JSON.stringify({ schema: 1, kind: 'sweep', startedAt: started.toISOString(), durationSeconds, machine, settings, best, points }, null, 2));

  const describe = (p: SweepPoint): string => `BATCH_SIZE=${p.batchSize} BATCH_MS=${p.batchMs} SEGMENT_SIZE=${p.segmentSize} SHARDS=${p.shards}`;
  const md: string[] = [
    '# Server settings sweep (fan-out)',
    '',
    `\`make bench-sweep\` started ${started.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}, took ${Math.round(durationSeconds)} s: ${fanOut.subscribers.toLocaleString('en-US')} subscribers × ${fanOut.rate} events/s × ${fanOut.payloadBytes} B, ${sweep.seconds} s per combination, one run each (noisy: compare neighbours, not single rows). ` +
      `Machine: ${machine.cores} cores (${machine.cpuModel}), Node ${machine.nodeVersion}, generator on the same cores.`,
    '',
    best ? `**Lowest server CPU per delivery with ≥ ${settings.saturation.minDeliveryRatio * 100}% delivered and p99 < ${settings.saturation.maxP99Ms} ms:** ${describe(best)} (${best.result.server.cpuMicrosPerDelivery.toFixed(3)} µs/delivery, p99 ${best.result.latencyMs.p99} ms).` : '**No combination kept ≥ 99.9% delivered with p99 < 100 ms.**',
    lowestP99 ? `**Lowest p99 among those:** ${describe(lowestP99)} (p99 ${lowestP99.result.latencyMs.p99} ms, ${lowestP99.result.server.cpuMicrosPerDelivery.toFixed(3)} µs/delivery).` : '',
    '',
    '| BATCH_SIZE | BATCH_MS | SEGMENT_SIZE | SHARDS | server CPU per delivery (µs) | delivered (%) | p50 (ms) | p99 (ms) | max (ms) | deliveries/s | server cores | busiest generator (% core) | machine busy (%) | pass |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
    ...sorted.map((p) => {
      const r = p.result;
      return `| ${p.batchSize} | ${p.batchMs} | ${p.segmentSize} | ${p.shards} | ${r.server.cpuMicrosPerDelivery.toFixed(3)} | ${formatValue(r.deliveryRatio * 100)} | ${formatValue(r.latencyMs.p50)} | ${formatValue(r.latencyMs.p99)} | ${formatValue(r.latencyMs.max)} | ${formatValue(r.deliveriesPerSecond)} | ${r.server.cores.toFixed(2)} | ${Math.round(r.generator.busiestSubscriberCore * 100)} | ${Math.round(r.machineBusy * 100)} | ${p.passed ? '✅' : '❌'} |`;
    }),
    '',
    `Raw figures: \`sweep-${stamp}.json\`.`,
    '',
  ];
  const mdPath = join(settings.resultsDir, 'sweep-latest.md');
  writeAtomically(mdPath, md.join('\n'));
  ctx.log(best ? `best: ${describe(best)}` : 'no combination passed');
  ctx.log(`wrote ${jsonPath}, ${mdPath}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench-sweep failed:', err);
    process.exit(1);
  },
);
