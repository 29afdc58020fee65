// Fan-out: N subscribers on one topic, events published at a steady rate, measured per variant in a
// fresh server process, for `rounds` rounds with the variant order alternating. High fan-out is the
// same scenario with other numbers (see high-fan-out.ts); the durability scenario runs the same load
// with and without the DATA_DIR log (durability.ts).
import { describePhase, LoadRun, type PhaseResult } from '../load/load-run.js';
import { startServer, type RunningServer } from '../server-process.js';
import type { LoadShape } from '../settings.js';
import { roundOrder, type ScenarioContext } from './context.js';

export async function runFanOut(ctx: ScenarioContext, scenario: string, shape: LoadShape): Promise<void> {
  const { rounds } = ctx.settings;
  ctx.log(`${scenario}: ${shape.subscribers.toLocaleString('en-US')} subscribers × ${shape.rate} events/s × ${shape.payloadBytes} B for ${shape.seconds} s, ${rounds} round(s)`);
  for (let round = 0; round < rounds; round++) {
    for (const variant of roundOrder(ctx.variants, round)) {
      const server = await startServer(variant, {}, ctx.settings.serverNodeFlags);
      try {
        const measured = await fanOutLoad(ctx, `${scenario} ${round + 1}/${rounds} ${variant.label}`, server, shape);
        ctx.record({ scenario, variant: variant.name, round, ...measured });
      } finally {
        await server.stop();
      }
    }
  }
}

/** The fan-out load on a running server: subscribers connected, warm-up, one measured phase. */
export async function fanOutLoad(ctx: ScenarioContext, tag: string, server: RunningServer, shape: LoadShape): Promise<PhaseResult & { connect: LoadRun['connect']; serverSettings: RunningServer['settings'] }> {
  let run: LoadRun | undefined;
  try {
    run = await LoadRun.start(server, server.pid, shape.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
    if (shape.warmupSeconds > 0) await run.phase(shape.rate, shape.warmupSeconds, shape.payloadBytes);
    const result = await run.phase(shape.rate, shape.seconds, shape.payloadBytes);
    ctx.log(`${tag}: ${describePhase(result)}`);
    return { connect: run.connect, serverSettings: server.settings, ...result };
  } finally {
    await run?.stop();
  }
}
