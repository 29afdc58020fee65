// Pass on its own, for what the hub tests do not pin down: a group's bytes are gathered once per
// starting point, merged across topics and batches in sequence order, and renewed when the pass grows.
import { describe, expect, it } from 'vitest';
import { Pass, type Group } from '../../../src/fanout/pass.js';
import { BatchBuilder, batchFromShared, type EventBatch } from '../../../src/sequencing/batch-layout.js';
import { formatId } from '../../../src/sequencing/event-ids.js';
import { encodeEvent } from '../../../src/sequencing/sse-encoding.js';

const EPOCH = 'e1';

function batch(firstSeq: number, topics: string[]): EventBatch {
  const builder = new BatchBuilder();
  topics.forEach((topic, i) => builder.add(firstSeq + i, topic, encodeEvent({ id: formatId(EPOCH, firstSeq + i), data: `${topic}#${firstSeq + i}` })));
  return batchFromShared(builder.seal(EPOCH));
}
const frames = (...events: Array<[string, number]>): string => events.map(([t, seq]) => `id: ${EPOCH}-${seq}\ndata: ${t}#${seq}\n\n`).join('');
const utf8 = ([bytes]: [Uint8Array, number]): string => Buffer.from(bytes).toString('utf8');

function groups(...topicSets: string[][]): { all: Group[]; groupsOf: (topic: string) => Group[] } {
  const all = topicSets.map((ts) => ({ topics: ts, members: new Set<never>() }));
  return { all, groupsOf: (topic) => all.filter((g) => g.topics.includes(topic)) };
}

describe('Pass', () => {
  it('computes a group\'s payload once per starting point: the same Uint8Array for members at the same lastSeq', () => {
    const { all: [ab], groupsOf } = groups(['a', 'b']);
    const pass = new Pass([batch(4, ['a', 'c', 'b', 'a'])], groupsOf);
    const first = pass.payloadFor(ab!, 3);
    expect(pass.payloadFor(ab!, 3)[0]).toBe(first[0]);
    expect(pass.payloadFor(ab!, 0)[0]).toBe(first[0]); // anything before the pass starts at its first event
    expect(utf8(first)).toBe(frames(['a', 4], ['b', 6], ['a', 7]));
    expect(first[1]).toBe(3);
    const later = pass.payloadFor(ab!, 5);
    expect(later[0]).not.toBe(first[0]);
    expect(utf8(later)).toBe(frames(['b', 6], ['a', 7]));
    expect(later[1]).toBe(2);
  });

  it('merges a multi-topic group\'s events from several batches in sequence order', () => {
    const { all: [ca, b], groupsOf } = groups(['c', 'a'], ['b']);
    const pass = new Pass([batch(1, ['a', 'b', 'c', 'a']), batch(5, ['c', 'b', 'a']), batch(8, ['b', 'c'])], groupsOf);
    expect(pass.groups).toEqual([ca, b]);
    expect(pass.lastSeq).toBe(9);
    expect(utf8(pass.payloadFor(ca!, 0))).toBe(frames(['a', 1], ['c', 3], ['a', 4], ['c', 5], ['a', 7], ['c', 9]));
    expect(pass.payloadFor(ca!, 0)[1]).toBe(6);
    expect(utf8(pass.payloadFor(ca!, 4))).toBe(frames(['c', 5], ['a', 7], ['c', 9]));
    expect(pass.payloadFor(ca!, 9)[1]).toBe(0);
  });

  it('grow() adds batches: payloads asked for afterwards include them, and new topics bring their groups', () => {
    const { all: [a, b], groupsOf } = groups(['a'], ['b']);
    const pass = new Pass([batch(1, ['a'])], groupsOf);
    const before = pass.payloadFor(a!, 0);
    expect(pass.groups).toEqual([a]);
    const grown = batch(2, ['b', 'a']);
    pass.grow([grown], groupsOf);
    expect(pass.grownBy).toEqual([grown]);
    expect(pass.lastSeq).toBe(3);
    expect(pass.groups).toEqual([a, b]);
    const after = pass.payloadFor(a!, 0);
    expect(after[0]).not.toBe(before[0]);
    expect(utf8(after)).toBe(frames(['a', 1], ['a', 3]));
    expect(utf8(pass.payloadFor(b!, 1))).toBe(frames(['b', 2]));
  });

  it('groups with events in the pass on one of their topics only share that topic\'s bytes (a broadcast topic plus private ones)', () => {
    const { all: [a1, a2, a3], groupsOf } = groups(['all', 't1'], ['all', 't2'], ['all', 't3']);
    const pass = new Pass([batch(1, ['all', 't1', 'all'])], groupsOf);
    const shared = pass.payloadFor(a2!, 0);
    expect(pass.payloadFor(a3!, 0)[0]).toBe(shared[0]);
    expect(utf8(pass.payloadFor(a3!, 0))).toBe(frames(['all', 1], ['all', 3]));
    expect(utf8(pass.payloadFor(a1!, 0))).toBe(frames(['all', 1], ['t1', 2], ['all', 3]));
    // grown by an event on t2: a2 has two topics in the pass now, its own bytes; up to where the pass began they are all's
    pass.grow([batch(4, ['t2'])], groupsOf);
    expect(utf8(pass.payloadFor(a2!, 0, pass.startLastSeq))).toBe(frames(['all', 1], ['all', 3]));
    expect(pass.payloadFor(a3!, 0, pass.startLastSeq)[0]).toBe(shared[0]);
    expect(utf8(pass.payloadFor(a2!, 0))).toBe(frames(['all', 1], ['all', 3], ['t2', 4]));
    expect(utf8(pass.payloadFor(a3!, 0))).toBe(frames(['all', 1], ['all', 3]));
  });
});
