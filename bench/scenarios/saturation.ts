// Saturation: per variant, one fresh server and one set of subscribers; the publish rate steps up
// geometrically until a step misses the bar (delivery ratio below minDeliveryRatio, p99 at or over
// maxP99Ms, the publisher short of 95% of the rate, or streams closed by the server). The figure is
// the highest rate that passed, with the deliveries per second it sustained.
import { describePhase, LoadRun, type PhaseResult } from '../load/load-run.js';
import { startServer } from '../server-process.js';
import type { ScenarioContext } from './context.js';

export interface SaturationStep {
  rate: number;
  passed: boolean;
  why: string;
  result: PhaseResult;
}

function verdict(r: PhaseResult, minRatio: number, maxP99Ms: number): string {
  const why: string[] = [];
  if (r.deliveryRatio < minRatio) why.push(`delivery ${(r.deliveryRatio * 100).toFixed(2)}%`);
  if (r.latencyMs.p99 >= maxP99Ms) why.push(`p99 ${r.latencyMs.p99} ms`);
  if (r.published.accepted < 0.95 * r.published.target) why.push(`published ${Math.round(r.published.perSecond)}/s`);
  if (r.openAtEnd < r.openAtStart) why.push(`${r.openAtStart - r.openAtEnd} streams closed`);
  return why.join(', ');
}

export async function runSaturation(ctx: ScenarioContext): Promise<void> {
  const sat = ctx.settings.saturation;
  ctx.log(`saturation: ${sat.subscribers.toLocaleString('en-US')} subscribers, ${sat.publisherConnections} publisher connections, rate from ${sat.startRate}/s ×${sat.factor.toFixed(2)} per ${sat.stepSeconds} s step until delivery < ${sat.minDeliveryRatio * 100}% or p99 >= ${sat.maxP99Ms} ms`);
  for (const variant of ctx.variants) {
    const tag = `saturation ${variant.label}`;
    const server = await startServer(variant, {}, ctx.settings.serverNodeFlags);
    let run: LoadRun | undefined;
    const steps: SaturationStep[] = [];
    try {
      run = await LoadRun.start(server, server.pid, sat.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`), publisherConnections: sat.publisherConnections });
      await run.phase(sat.startRate, Math.min(1, sat.stepSeconds), sat.payloadBytes); // warm-up
      for (let rate = sat.startRate; rate <= sat.maxRate; rate = Math.round(rate * sat.factor)) {
        let result: PhaseResult;
        let why: string;
        let attempt = 0;
        do {
          result = await run.phase(rate, sat.stepSeconds, sat.payloadBytes);
          why = verdict(result, sat.minDeliveryRatio, sat.maxP99Ms);
          ctx.log(`${tag} @ ${rate}/s${attempt > 0 ? ' (again)' : ''}: ${why === '' ? 'pass' : `FAIL (${why})`}; ${describePhase(result)}`);
        } while (why !== '' && result.openAtEnd === result.openAtStart && attempt++ < sat.retries && server.alive());
        steps.push({ rate, passed: why === '', why, result });
        if (why !== '' || !server.alive()) break;
      }
    } finally {
      await run?.stop();
      await server.stop();
    }
    const best = [...steps].reverse().find((s) => s.passed);
    ctx.record({
      scenario: 'saturation',
      variant: variant.name,
      round: 0,
      serverSettings: server.settings,
      maxRate: best?.rate ?? 0,
      maxDeliveriesPerSecond: best?.result.deliveriesPerSecond ?? 0,
      atMax: best?.result,
      firstFailure: steps.find((s) => !s.passed)?.why ?? `none up to ${sat.maxRate}/s`,
      steps: steps.map((s) => ({ rate: s.rate, passed: s.passed, why: s.why, deliveryRatio: s.result.deliveryRatio, p99: s.result.latencyMs.p99, deliveriesPerSecond: s.result.deliveriesPerSecond, publishedPerSecond: s.result.published.perSecond, serverCores: s.result.server.cores, generatorBusiestCore: s.result.generator.busiestSubscriberCore, bottleneck: s.result.bottleneck })),
    });
  }
}
