// A micro-benchmark task: a tinybench function that does `ops` operations per call, so results can
// be given per operation (per event, per delivery) whatever the task batches to be measurable.
import { readFileSync } from 'node:fs';

export interface MicroTask {
  group: string;
  name: string;
  /** operations per call of `fn`, and what one operation is */
  ops: number;
  unit: string;
  fn: () => void | Promise<void>;
  /** `fn` returns a promise to await (it completes on a later event-loop turn) */
  async?: boolean;
  /**
   * What a sample measures: wall time (default), or the main thread's own CPU time, for tasks that
   * share the cores with another thread and must not be charged for the time it takes them away.
   */
  clock?: 'wall' | 'main-thread-cpu';
  /** run before and after the task's samples, e.g. to let a helper thread catch up */
  settle?: () => Promise<void>;
}

export interface MicroResult {
  group: string;
  name: string;
  unit: string;
  /** mean */
  nsPerOp: number;
  /** median (p50) of the samples, per operation */
  nsPerOpMedian?: number;
  opsPerSecond: number;
  /** relative margin of error of the mean, percent */
  rme: number;
  samples: number;
}

/** The main thread's on-CPU time in ms (schedstat, ns resolution); wall time where there is none. */
export function mainThreadCpuMs(): number {
  try {
    const text = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8');
    return Number(text.slice(0, text.indexOf(' '))) / 1e6;
  } catch {
    return performance.now();
  }
}

/** A payload of `bytes` ASCII characters. */
export function payloadOf(bytes: number): string {
  return 'x'.repeat(bytes);
}
