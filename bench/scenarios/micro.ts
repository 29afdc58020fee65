// Micro-benchmarks (tinybench) of the encoder, history, batcher and hub, in a fresh process.
import type { MicroRequest } from '../micro/micro-process.js';
import type { MicroResult } from '../micro/micro-task.js';
import { ChildClient } from '../processes.js';
import type { ScenarioContext } from './context.js';

export async function runMicro(ctx: ScenarioContext): Promise<void> {
  ctx.log(`micro: tinybench, ${ctx.settings.micro.taskMs} ms per task`);
  const child = ChildClient.start<MicroRequest>('micro', './micro/micro-process.js');
  try {
    const results = await child.request<MicroResult[]>({ type: 'micro', taskMs: ctx.settings.micro.taskMs });
    for (const r of results) {
      const median = r.nsPerOpMedian === undefined ? '' : `, median ${formatNs(r.nsPerOpMedian)}`;
      ctx.log(`micro ${r.group}: ${r.name}: ${formatNs(r.nsPerOp)} per ${r.unit}${median} (±${r.rme.toFixed(1)}%)`);
      ctx.record({ scenario: 'micro', variant: 'uws', round: 0, ...r });
    }
  } finally {
    await child.stop();
  }
}

export function formatNs(ns: number): string {
  return ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`;
}
