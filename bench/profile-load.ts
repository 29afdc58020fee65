// `make profile` helper: runs a server command given after `--` (clinic doctor/flame wrapping the
// server, or node --cpu-prof), puts the fan-out load on it once it prints `listening on`, then sends
// it SIGINT (clinic relays it to the server, which drains and exits) and waits for the profiler to
// write its report. Usage: node dist/bench/profile-load.js <label> -- <command> [args...]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describePhase, LoadRun } from './load/load-run.js';
import { descendants } from './proc-stats.js';
import { track, watchdog } from './processes.js';
import { loadSettings } from './settings.js';

/** The node process running dist/src/server.js: `pid` or its deepest such descendant (clinic spawns it). */
function findServerPid(pid: number): number | undefined {
  const cmdline = (p: number): string => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      return '';
    }
  };
  return [pid, ...descendants(pid)].filter((p) => /dist\/src\/server\.js/.test(cmdline(p))).pop();
}

async function main(): Promise<void> {
  const dash = process.argv.indexOf('--');
  const label = process.argv[2] ?? 'profile';
  const command = process.argv.slice(dash + 1);
  if (dash === -1 || command.length === 0) throw new Error('usage: profile-load.js <label> -- <command> [args...]');
  const settings = loadSettings();
  watchdog(600);
  const shape = settings.fanOut;
  // Its own process group, so that SIGINT reaches the profiler and the server together, as Ctrl+C
  // does (0x, under clinic flame, waits for its child to exit without signalling it), and so that
  // nothing of it survives us.
  const child = track(spawn(command[0]!, command.slice(1), { env: { ...process.env, HOST: '127.0.0.1', PORT: '0', DRAIN_MS: '0', DATA_DIR: '' }, stdio: ['ignore', 'pipe', 'inherit'], detached: true }));
  const group = -child.pid!;
  process.on('exit', () => {
    try {
      process.kill(group, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    process.stdout.write(d);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label}: the server did not print "listening on" within 60 s`)), 60_000);
    const check = (): void => {
      const m = /listening on http:\/\/[\d.]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`${label}: exited (${code}) before listening`)));
  });
  const pid = findServerPid(child.pid!) ?? child.pid!;
  console.log(`[${label}] server pid ${pid} on port ${port}: fan-out ${shape.subscribers} subscribers × ${shape.rate} events/s for ${shape.seconds} s`);
  const run = await LoadRun.start({ host: '127.0.0.1', port }, pid, shape.subscribers, settings, { onProgress: (l) => console.log(`[${label}] ${l}`) });
  try {
    if (shape.warmupSeconds > 0) await run.phase(shape.rate, shape.warmupSeconds, shape.payloadBytes);
    console.log(`[${label}] ${describePhase(await run.phase(shape.rate, shape.seconds, shape.payloadBytes))}`);
  } finally {
    await run.stop();
  }
  console.log(`[${label}] SIGINT to the server; waiting for the profiler to write its report`);
  process.kill(group, 'SIGINT');
  const code = await exited;
  console.log(`[${label}] done (exit ${code})`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error('profile failed:', err);
    process.exit(1);
  },
);
