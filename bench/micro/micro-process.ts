// Runs the micro-benchmarks (tinybench) in a process of its own and answers with ns per operation.
import { Bench } from 'tinybench';
import { serveParent } from '../processes.js';
import { batcherTasks } from './batcher.js';
import { encoderTasks } from './encoder.js';
import { historyTasks } from './history.js';
import { hubTasks } from './hub-fan-out.js';
import { jwtVerifyTasks } from './jwt-verify.js';
import { sequencerVsSubscribersTasks } from './sequencer-vs-subscribers.js';
import { mainThreadCpuMs, type MicroResult, type MicroTask } from './micro-task.js';

export type MicroRequest = { type: 'micro'; taskMs: number };

async function run(taskMs: number): Promise<MicroResult[]> {
  const batcher = batcherTasks();
  const bySubscribers = await sequencerVsSubscribersTasks();
  const tasks: MicroTask[] = [...encoderTasks(), ...historyTasks(), ...batcher.tasks, ...bySubscribers.tasks, ...hubTasks(), ...(await jwtVerifyTasks())];
  const options = { time: taskMs, warmupTime: Math.min(100, taskMs), iterations: 16 };
  const wall = new Bench(options);
  const cpu = new Bench({ ...options, now: mainThreadCpuMs });
  for (const t of tasks) {
    const hooks = t.settle === undefined ? {} : { beforeAll: t.settle, afterAll: t.settle };
    (t.clock === 'main-thread-cpu' ? cpu : wall).add(t.name, t.fn, { async: t.async ?? false, ...hooks });
  }
  await wall.run();
  await cpu.run();
  batcher.close();
  await bySubscribers.close();
  return tasks.map((t) => {
    const r = (t.clock === 'main-thread-cpu' ? cpu : wall).getTask(t.name)?.result;
    if (r === undefined || !('latency' in r)) throw new Error(`micro-benchmark "${t.name}" did not complete: ${JSON.stringify(r)}`);
    const nsPerOp = (r.latency.mean * 1e6) / t.ops;
    const nsPerOpMedian = ((r.latency.p50 ?? r.latency.mean) * 1e6) / t.ops;
    return { group: t.group, name: t.name, unit: t.unit, nsPerOp, nsPerOpMedian, opsPerSecond: 1e9 / nsPerOp, rme: r.latency.rme, samples: r.latency.samplesCount ?? 0 };
  });
}

serveParent<MicroRequest>((m) => run(m.taskMs));
