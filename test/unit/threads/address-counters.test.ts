// The shared table of streams per client address (src/threads/address-counters.ts): counts against
// a plain Map model under random opens and closes (probing and backward-shift deletion keep every
// key findable), the limit, the full-table policy, and exact counts with four threads at once.
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../src/intake/ip.js';
import { AddressCounters, addressKey, createAddressCounters, type AddressKey } from '../../../src/threads/address-counters.js';

const key = (text: string): AddressKey => addressKey(parseIp(text)!);

describe('AddressCounters', () => {
  it('counts per address up to the limit, and frees the slot at zero', () => {
    const t = new AddressCounters(createAddressCounters(100));
    const a = key('203.0.113.9');
    const b = key('203.0.113.10');
    expect(t.tryAdd(a, 2)).toBe('counted');
    expect(t.tryAdd(a, 2)).toBe('counted');
    expect(t.tryAdd(a, 2)).toBe('refused');
    expect(t.tryAdd(b, 2)).toBe('counted');
    expect([t.count(a), t.count(b), t.addresses]).toEqual([2, 1, 2]);
    t.remove(a);
    expect(t.tryAdd(a, 2)).toBe('counted');
    t.remove(a);
    t.remove(a);
    t.remove(b);
    expect([t.count(a), t.count(b), t.addresses]).toEqual([0, 0, 0]);
  });

  it('IPv6 addresses count per /64; IPv4 per address; an IPv4 never meets an IPv6 key', () => {
    const t = new AddressCounters(createAddressCounters(100));
    expect(t.tryAdd(key('2001:db8:1:2::1'), 1)).toBe('counted');
    expect(t.tryAdd(key('2001:db8:1:2:ffff::9'), 1)).toBe('refused'); // same /64
    expect(t.tryAdd(key('2001:db8:1:3::1'), 1)).toBe('counted');
    expect(t.tryAdd(key('0.0.0.1'), 1)).toBe('counted');
    expect(t.tryAdd(key('::1'), 1)).toBe('counted'); // ::/64 holds ::1, not 0.0.0.1
  });

  it('a full table admits new addresses uncounted instead of refusing them', () => {
    const t = new AddressCounters(createAddressCounters(1)); // 16 slots, 12 usable
    for (let i = 0; i < 12; i++) expect(t.tryAdd(key(`198.51.100.${i}`), 1)).toBe('counted');
    expect(t.tryAdd(key('198.51.100.200'), 1)).toBe('uncounted');
    expect(t.tryAdd(key('198.51.100.3'), 1)).toBe('refused'); // known addresses are still limited
  });

  it('matches a Map model under random opens and closes (tiny table: long probe chains)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 11 })), { maxLength: 300 }), (ops) => {
        const t = new AddressCounters(createAddressCounters(8)); // 16 slots
        const model = new Map<number, number>();
        const LIMIT = 3;
        for (const [open, n] of ops) {
          const k = key(`10.0.0.${n}`);
          const have = model.get(n) ?? 0;
          if (open) {
            const r = t.tryAdd(k, LIMIT);
            expect(r).toBe(have < LIMIT ? 'counted' : 'refused');
            if (r === 'counted') model.set(n, have + 1);
          } else if (have > 0) {
            t.remove(k);
            if (have === 1) model.delete(n);
            else model.set(n, have - 1);
          }
          for (let m = 0; m < 12; m++) expect(t.count(key(`10.0.0.${m}`))).toBe(model.get(m) ?? 0);
          expect(t.addresses).toBe(model.size);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('four threads opening and closing at once leave exact counts (the lock holds)', async () => {
    const buffer = createAddressCounters(1000);
    const url = new URL('../../../dist/src/threads/address-counters.js', import.meta.url).href;
    const script = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ AddressCounters }) => {
        const t = new AddressCounters(workerData.buffer);
        let admitted = 0;
        for (let round = 0; round < 2000; round++) {
          for (let k = 0; k < 20; k++) if (t.tryAdd([1, k, 0], 1000000) === 'counted') admitted++;
          if (round % 2 === 1) for (let k = 0; k < 20; k++) t.remove([1, k, 0]);
        }
        parentPort.postMessage(admitted);
      });`;
    const results = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(script, { eval: true, workerData: { url, buffer } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(results).toEqual([40_000, 40_000, 40_000, 40_000]);
    const t = new AddressCounters(buffer);
    // each thread added 2000 x 20 and removed 1000 x 20: 1000 per key per thread left
    for (let k = 0; k < 20; k++) expect(t.count([1, k, 0])).toBe(4 * 1000);
    // and a limit holds across threads: 4 threads race for 10 places of one key
    const limited = createAddressCounters(10);
    const race = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.url).then(({ AddressCounters }) => {
        const t = new AddressCounters(workerData.buffer);
        let admitted = 0;
        for (let i = 0; i < 1000; i++) if (t.tryAdd([1, 42, 0], 10) === 'counted') admitted++;
        parentPort.postMessage(admitted);
      });`;
    const won = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<number>((resolve, reject) => {
            const w = new Worker(race, { eval: true, workerData: { url, buffer: limited } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    expect(won.reduce((a, b) => a + b, 0)).toBe(10);
  });
});
