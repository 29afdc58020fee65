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
export async function fanOutLoad(ctx: ScenarioContext, tag: string, server: RunningServer, shape: LoadShape): Promise<FanOutMeasure> {
  let run: LoadRun | undefined;
  try {
    run = await startFanOut(ctx, tag, server, shape);
    return await measureFanOut(ctx, tag, run, server, shape);
  } finally {
    await run?.stop();
  }
}

export type FanOutMeasure = PhaseResult & { connect: LoadRun['connect']; serverSettings: RunningServer['settings'] };

/** The subscribers connected and the warm-up published: ready for measured phases. */
export async function startFanOut(ctx: ScenarioContext, tag: string, server: RunningServer, shape: LoadShape): Promise<LoadRun> {
  const run = await LoadRun.start(server, server.pid, shape.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
  try {
    if (shape.warmupSeconds > 0) await run.phase(shape.rate, shape.warmupSeconds, shape.payloadBytes);
    return run;
  } catch (err) {
    await run.stop();
    throw err;
  }
}

/** One measured phase of the fan-out load. */
export async function measureFanOut(ctx: ScenarioContext, tag: string, run: LoadRun, server: RunningServer, shape: LoadShape): Promise<FanOutMeasure> {
  const result = await run.phase(shape.rate, shape.seconds, shape.payloadBytes);
  ctx.log(`${tag}: ${describePhase(result)}`);
  return { connect: run.connect, serverSettings: server.settings, ...result };
}
