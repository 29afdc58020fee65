// High fan-out: many subscribers (10,000 by default, two generator processes) at a low event rate,
// where per-connection costs and the p99 latency of reaching the last subscriber dominate.
import type { ScenarioContext } from './context.js';
import { runFanOut } from './fan-out.js';

export function runHighFanOut(ctx: ScenarioContext): Promise<void> {
  return runFanOut(ctx, 'high-fan-out', ctx.settings.highFanOut);
}
