// `make bench-c100k`: 100,000 SSE subscribers on this machine (and 10,000, to compare), over as many
// server processes on one port as the open-files limit forces, in cluster mode. BENCH_QUICK=1: 2,000
// over 2 servers and 2 generators in a few seconds. Writes results/c100k-<timestamp>.{json,md} and
// results/c100k-latest.md; every process it starts is killed on exit (bench/processes.ts).
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineInfo } from './proc-stats.js';
import { watchdog } from './processes.js';
import { writeAtomically } from './report/results-file.js';
import { renderC100k, type C100kResults } from './c100k/report.js';
import { ScaleRun } from './c100k/scale-run.js';
import { generatorsFor, loadC100kSettings, serversFor } from './c100k/settings.js';

async function main(): Promise<void> {
  const settings = loadC100kSettings();
  watchdog(settings.timeoutSeconds);
  const t0 = performance.now();
  const log = (line: string): void => console.log(`[${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
  const results: C100kResults = { startedAt: new Date().toISOString(), machine: machineInfo(), settings: { ...settings }, loadAverage: [], scales: [] };
  const stamp = results.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  mkdirSync(settings.resultsDir, { recursive: true });
  const json = join(settings.resultsDir, `c100k-${stamp}.json`);
  for (const n of settings.scales) {
    log(`c100k: ${n.toLocaleString('en-US')} subscribers, ${serversFor(n, settings)} server processes, ${generatorsFor(n, settings)} generator processes; load average ${loadavg()[0]!.toFixed(1)}`);
    const load = { min: loadavg()[0]!, max: loadavg()[0]! };
    const sampler = setInterval(() => {
      load.min = Math.min(load.min, loadavg()[0]!);
      load.max = Math.max(load.max, loadavg()[0]!);
    }, 2_000);
    try {
      results.scales.push(await new ScaleRun(n, settings, (l) => log(`${n.toLocaleString('en-US')}: ${l}`)).run());
    } finally {
      clearInterval(sampler);
    }
    results.loadAverage.push(load);
    writeAtomically(json, JSON.stringify(results, null, 2));
  }
  const md = renderC100k(results);
  writeAtomically(join(settings.resultsDir, `c100k-${stamp}.md`), md);
  writeAtomically(join(settings.resultsDir, 'c100k-latest.md'), md);
  log(`wrote ${json}, ${join(settings.resultsDir, `c100k-${stamp}.md`)} and c100k-latest.md`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('bench-c100k failed:', err);
    process.exit(1);
  },
);
