// Fan-out: N subscribers on one topic, events published at a steady rate, measured per variant in a
// fresh server process, for `rounds` rounds with the variant order alternating. High fan-out is the
// same scenario with other numbers (see high-fan-out.ts).
import { describePhase, LoadRun } from '../load/load-run.js';
import { startServer } from '../server-process.js';
import type { LoadShape } from '../settings.js';
import { roundOrder, type ScenarioContext } from './context.js';

export async function runFanOut(ctx: ScenarioContext, scenario: string, shape: LoadShape): Promise<void> {
  const { rounds } = ctx.settings;
  ctx.log(`${scenario}: ${shape.subscribers.toLocaleString('en-US')} subscribers × ${shape.rate} events/s × ${shape.payloadBytes} B for ${shape.seconds} s, ${rounds} round(s)`);
  for (let round = 0; round < rounds; round++) {
    for (const variant of roundOrder(ctx.variants, round)) {
      const tag = `${scenario} ${round + 1}/${rounds} ${variant.label}`;
      const server = await startServer(variant, {}, ctx.settings.serverNodeFlags);
      let run: LoadRun | undefined;
      try {
        run = await LoadRun.start(server, server.pid, shape.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
        if (shape.warmupSeconds > 0) await run.phase(shape.rate, shape.warmupSeconds, shape.payloadBytes);
        const result = await run.phase(shape.rate, shape.seconds, shape.payloadBytes);
        ctx.log(`${tag}: ${describePhase(result)}`);
        ctx.record({ scenario, variant: variant.name, round, connect: run.connect, serverSettings: server.settings, ...result });
      } finally {
        await run?.stop();
        await server.stop();
      }
    }
  }
}
