// The server keeps the main thread's young generation at its size by a V8 flag set at run time: a
// Node whose V8 read it only at start-up would let the space grow again, and one whose worker
// threads reset it on their start (Node 20 does) needs it set again once a shard is up. Each case
// runs in a fresh process, as the server does: this one's young generation has grown already.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = JSON.stringify(fileURLToPath(new URL('../../../dist/src/config/v8-heap.js', import.meta.url)));

/** The main thread's young generation in MiB after `setup`, then a workload of which a third survives. */
function youngGenerationAfter(setup: string): number {
  const script = `import v8 from 'node:v8';
    import { Worker } from 'node:worker_threads';
    ${setup}
    const kept = [];
    for (let i = 0; i < 3e6; i++) { const o = { i, s: 'x' + i }; if (i % 3 === 0) kept.push(o); }
    console.log(v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 2 ** 20);`;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
}

const startWorker = `await new Promise((online) => new Worker('setTimeout(() => {}, 50)', { eval: true }).once('online', online));`;

describe('v8-heap', () => {
  it('keeps the young generation at its size where the workload would grow it', () => {
    expect(youngGenerationAfter('')).toBeGreaterThan(4);
    expect(youngGenerationAfter(`await import(${MODULE});`)).toBeLessThanOrEqual(4);
  });

  it('a worker thread starting resets the flag; setting it again once the worker is up holds', () => {
    expect(youngGenerationAfter(`await import(${MODULE}); ${startWorker}`)).toBeGreaterThan(4);
    expect(youngGenerationAfter(`const { keepYoungGenerationSmall } = await import(${MODULE}); ${startWorker} keepYoungGenerationSmall();`)).toBeLessThanOrEqual(4);
  });
});
