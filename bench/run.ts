// `make bench`: runs the scenarios (BENCH_SCENARIOS) against every variant (BENCH_VARIANTS), each in a
// fresh server process, and writes results/<timestamp>.json, results/latest.md and the SVG charts.
// BENCH_QUICK=1 for a run of about 3 minutes, BENCH_SMOKE=1 for a few seconds; see bench/settings.ts
// for every knob. Progress goes to the terminal; every child process is killed on exit.
import { machineInfo } from './proc-stats.js';
import { watchdog } from './processes.js';
import { ResultsWriter } from './report/results-file.js';
import { runCompression } from './scenarios/compression.js';
import { makeContext, type ScenarioContext } from './scenarios/context.js';
import { runDurability } from './scenarios/durability.js';
import { runFanOut } from './scenarios/fan-out.js';
import { runHandover } from './scenarios/handover.js';
import { runHighFanOut } from './scenarios/high-fan-out.js';
import { runIdleMemory } from './scenarios/idle-memory.js';
import { runMicro } from './scenarios/micro.js';
import { runPublishThroughput } from './scenarios/publish-throughput.js';
import { runSaturation } from './scenarios/saturation.js';
import { runStorm } from './scenarios/storm.js';
import { runTwoServer } from './scenarios/two-server.js';
import { loadSettingsOrExit, type ScenarioName } from './settings.js';

const SCENARIO_RUNNERS: Record<ScenarioName, (ctx: ScenarioContext) => Promise<void>> = {
  'fan-out': (ctx) => runFanOut(ctx, 'fan-out', ctx.settings.fanOut),
  'high-fan-out': runHighFanOut,
  saturation: runSaturation,
  'two-server': runTwoServer,
  storm: runStorm,
  handover: runHandover,
  compression: runCompression,
  durability: runDurability,
  'idle-memory': runIdleMemory,
  'publish-throughput': runPublishThroughput,
  micro: runMicro,
};

async function main(): Promise<void> {
  const settings = loadSettingsOrExit();
  watchdog(settings.timeoutSeconds);
  const machine = machineInfo();
  const writer = new ResultsWriter(settings, machine);
  const ctx = makeContext(settings, (r) => writer.record(r));
  ctx.log(`bench (${settings.mode}): ${settings.scenarios.join(', ')} × ${settings.variants.join(', ')}; ${machine.cores} cores ${machine.cpuModel}, Node ${machine.nodeVersion}; results in ${settings.resultsDir}`);
  for (const name of settings.scenarios) {
    await SCENARIO_RUNNERS[name](ctx);
    writer.saveProgress();
  }
  const written = writer.finish();
  const results = writer.build(true);
  for (const t of results.targets) ctx.log(`target ${t.met === undefined ? 'not measured' : t.met ? 'MET' : 'MISSED'}: ${t.target}`);
  ctx.log(`load generator: ${results.generator.text}`);
  ctx.log(`wrote ${written.join(', ')}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench failed:', err);
    process.exit(1);
  },
);
