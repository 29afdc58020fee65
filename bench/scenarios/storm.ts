// Reconnect storm: a balancer or a deploy drops every connection at once, and every client comes
// back at once with its Last-Event-ID. Per variant, in a fresh server process: N subscribers connect,
// events are published at a steady rate before, during and after; at T every stream is closed from
// the client side (all generator processes at the same instant) and reconnects immediately with the
// last id it received. Measured: time until all are back, handshake and catch-up latency, server and
// generator CPU in the storm window, and per client missing and duplicate deliveries over the whole
// run (the node:http baseline keeps no history and ignores Last-Event-ID: it loses what was published
// while a client was away). See bench/load/storm-run.ts.
import { LoadRun } from '../load/load-run.js';
import { describeStorm, stormPhase } from '../load/storm-run.js';
import { startServer } from '../server-process.js';
import type { ScenarioContext } from './context.js';

export async function runStorm(ctx: ScenarioContext): Promise<void> {
  const st = ctx.settings.storm;
  ctx.log(
    `storm: ${st.subscribers.toLocaleString('en-US')} subscribers, ${st.rate} events/s × ${st.payloadBytes} B for ${st.beforeSeconds} s, ` +
      `then every stream closed (${st.close}) and reconnected at once with Last-Event-ID, publishing on for ${st.afterSeconds} s`,
  );
  for (const variant of ctx.variants) {
    const tag = `storm ${variant.label}`;
    const server = await startServer(variant, {}, ctx.settings.serverNodeFlags);
    let run: LoadRun | undefined;
    try {
      run = await LoadRun.start(server, server.pid, st.subscribers, ctx.settings, { onProgress: (l) => ctx.log(`${tag}: ${l}`) });
      const result = await stormPhase(run, server, st, (l) => ctx.log(`${tag}: ${l}`));
      ctx.log(`${tag}: ${describeStorm(result)}`);
      ctx.record({ scenario: 'storm', variant: variant.name, round: 0, connect: run.connect, serverSettings: server.settings, ...result });
    } finally {
      await run?.stop();
      await server.stop();
    }
  }
}
