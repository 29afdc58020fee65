// Runs packed into one buffer for the trip from a shard to the main thread come back exactly.
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { SequencedRun } from '../../../src/sequencing/local-sequencer.js';
import { packRuns, transferables, unpackRuns } from '../../../src/threads/run-packing.js';

const run = (firstSeq: number, events: Array<[string, string]>, receivedAt = 1_000 + firstSeq): SequencedRun => ({
  firstSeq,
  topics: events.map(([t]) => t),
  bytes: events.map(([, b]) => Buffer.from(b)),
  receivedAt,
});

const plain = (runs: SequencedRun[]): unknown => runs.map((r) => ({ ...r, bytes: r.bytes.map((b) => Buffer.from(b).toString()) }));

describe('packRuns / unpackRuns', () => {
  it('round-trips runs of several events, empty payload bytes included, in order', () => {
    const runs = [run(7, [['a', 'id: 7\ndata: x\n\n'], ['b.c', 'id: 8\ndata: é\n\n']]), run(3, [['a', '']]), run(9, [['z', 'id: 9\ndata: y\n\n']])];
    expect(plain(unpackRuns(packRuns(runs)))).toEqual(plain(runs));
  });

  it('carries each distinct topic once, however many events name it', () => {
    const runs = [run(1, [['a', 'x'], ['b', 'y'], ['a', 'z']]), run(4, [['b', 'w'], ['a', 'v']])];
    const packed = packRuns(runs);
    expect(packed.topics).toEqual(['a', 'b']);
    expect(plain(unpackRuns(packed))).toEqual(plain(runs));
  });

  it('nothing to pack is nothing unpacked', () => {
    expect(unpackRuns(packRuns([]))).toEqual([]);
  });

  it('crosses a MessagePort with its buffers transferred, and arrives the same', async () => {
    const runs = [run(1, [['t', 'id: 1\ndata: one\n\n']]), run(2, [['t', 'id: 2\ndata: two\n\n'], ['u', 'id: 3\ndata: three\n\n']])];
    const packed = packRuns(runs);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise<unknown>((resolve) => port2.once('message', resolve));
    port1.postMessage(packed, transferables(packed));
    expect(packed.buffer.byteLength).toBe(0); // moved, not copied
    const back = unpackRuns((await received) as typeof packed);
    port1.close();
    expect(plain(back)).toEqual(plain(runs));
  });
});
