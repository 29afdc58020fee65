// SharedSequence: numbers claimed from several threads never overlap and none is skipped.
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SharedSequence } from '../../../src/sequencing/shared-sequence.js';

describe('SharedSequence', () => {
  it('claims consecutive ranges from 1 and reports the newest number claimed', () => {
    const seq = new SharedSequence(new BigInt64Array(new SharedArrayBuffer(8)));
    expect(seq.last).toBe(0);
    expect(seq.claim(3)).toBe(1);
    expect(seq.claim(1)).toBe(4);
    expect(seq.last).toBe(4);
  });

  it('two threads claiming at once get disjoint ranges that cover every number', async () => {
    const cell = new BigInt64Array(new SharedArrayBuffer(8));
    const claims = 20_000;
    // the same Atomics.add the class uses, from another thread, racing this one
    const worker = new Worker(
      `const { workerData, parentPort } = require('node:worker_threads');
       const firsts = [];
       for (let i = 0; i < workerData.claims; i++) firsts.push(Number(Atomics.add(workerData.cell, 0, 2n)) + 1);
       parentPort.postMessage(firsts);`,
      { eval: true, workerData: { cell, claims } },
    );
    const mine: number[] = [];
    const seq = new SharedSequence(cell);
    for (let i = 0; i < claims; i++) mine.push(seq.claim(2));
    const theirs = await new Promise<number[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    const all = [...mine, ...theirs].flatMap((first) => [first, first + 1]).sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 4 * claims }, (_, i) => i + 1));
    expect(seq.last).toBe(4 * claims);
  });
});
