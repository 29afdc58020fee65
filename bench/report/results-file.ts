// Everything one `make bench` run writes: results/<timestamp>.json (rewritten after every scenario, so
// an interrupted run still leaves its figures, marked incomplete), and at the end results/latest.md
// and the SVG charts. Writes go to a temporary file first and are renamed into place.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MicroResult } from '../micro/micro-task.js';
import type { MachineInfo } from '../proc-stats.js';
import type { RunRecord } from '../scenarios/context.js';
import type { BenchSettings } from '../settings.js';
import { checkCompressionTargets } from './compression-section.js';
import { checkDurabilityTargets } from './durability-section.js';
import { checkHandoverTargets } from './handover-section.js';
import { renderMarkdown } from './markdown.js';
import { checkTargets, figures, generatorVerdict, microResults, type Figure, type TargetCheck } from './summarise.js';
import { renderCharts } from './svg-charts.js';

export interface ResultsFile {
  schema: 1;
  /** the JSON's file name inside the results directory */
  file: string;
  complete: boolean;
  mode: BenchSettings['mode'];
  startedAt: string;
  durationSeconds: number;
  machine: MachineInfo;
  settings: BenchSettings;
  /** what the uWS server printed on its settings line */
  serverSettings: Record<string, unknown> | undefined;
  /** medians per scenario, figure and variant */
  figures: Figure[];
  targets: TargetCheck[];
  generator: ReturnType<typeof generatorVerdict>;
  micro: MicroResult[];
  charts: string[];
  /** every measurement: one record per scenario × variant × round */
  runs: RunRecord[];
}

export function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export class ResultsWriter {
  readonly runs: RunRecord[] = [];
  readonly file: string;
  private readonly started = new Date();
  private readonly t0 = performance.now();

  constructor(
    private readonly settings: Readonly<BenchSettings>,
    private readonly machine: MachineInfo,
    prefix = '',
  ) {
    mkdirSync(settings.resultsDir, { recursive: true });
    this.file = `${prefix}${this.started.toISOString().replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}.json`;
  }

  get path(): string {
    return join(this.settings.resultsDir, this.file);
  }

  private titles(): Record<string, string> {
    const { fanOut, highFanOut } = this.settings;
    const n = (x: number): string => x.toLocaleString('en-US');
    return { 'fan-out': `fan-out ${n(fanOut.subscribers)} × ${n(fanOut.rate)}/s`, 'high-fan-out': `high fan-out ${n(highFanOut.subscribers)} × ${n(highFanOut.rate)}/s` };
  }

  record(r: RunRecord): void {
    this.runs.push(r);
  }

  build(complete: boolean): ResultsFile {
    const figs = figures(this.runs);
    // the handover scenario's records are uWS servers too (named after the way they were replaced)
    const uws = this.runs.find((r) => (r.variant.startsWith('uws-') || r.scenario === 'handover') && r['serverSettings'] !== undefined);
    return {
      schema: 1,
      file: this.file,
      complete,
      mode: this.settings.mode,
      startedAt: this.started.toISOString(),
      durationSeconds: (performance.now() - this.t0) / 1000,
      machine: this.machine,
      settings: { ...this.settings },
      serverSettings: uws?.['serverSettings'] as Record<string, unknown> | undefined,
      figures: figs,
      targets: [
        ...checkTargets(this.runs, figs, this.settings.variants, { fanOut: this.settings.fanOut.rate, highFanOut: this.settings.highFanOut.rate }, [
          this.settings.publishThroughput.connections,
          this.settings.publishThroughput.clusterConnections,
        ]),
        ...checkCompressionTargets(this.runs, this.settings),
        ...checkDurabilityTargets(this.runs, this.settings),
        ...checkHandoverTargets(this.runs),
      ],
      generator: generatorVerdict(this.runs),
      micro: microResults(this.runs),
      charts: complete ? Object.keys(renderCharts(figs, this.settings.variants, this.titles())) : [],
      runs: this.runs,
    };
  }

  /** The JSON alone (during the run). */
  saveProgress(): void {
    writeAtomically(this.path, JSON.stringify(this.build(false), null, 2));
  }

  /** The JSON, latest.md and the charts; returns the paths written. */
  finish(markdownName = 'latest.md'): string[] {
    const results = this.build(true);
    writeAtomically(this.path, JSON.stringify(results, null, 2));
    const written = [this.path];
    for (const [name, svg] of Object.entries(renderCharts(results.figures, this.settings.variants, this.titles()))) {
      const p = join(this.settings.resultsDir, name);
      writeAtomically(p, svg);
      written.push(p);
    }
    const md = join(this.settings.resultsDir, markdownName);
    writeAtomically(md, renderMarkdown(results));
    written.push(md);
    return written;
  }
}
