// MAX_CONNECTIONS_PER_IP: open streams per client address, counted across shards in one
// SharedArrayBuffer that every shard attaches to.
//
// An open-addressing hash table (linear probing) of Int32 words:
//   [0] lock (0 free, 1 held), [1] occupied slots, [2] hash seed, [3] capacity, then `capacity`
//   slots of 4 words: tag, a, b, count. tag 0 = empty.
// The key is stored whole, so two addresses never share a counter (no collisions, only probing):
//   IPv4 = (1, the address, 0); IPv6 = (2, first 32 bits, next 32 bits), i.e. its /64, the block
//   one IPv6 subscriber is normally given (counting single IPv6 addresses would let one host open
//   2^64 times the limit).
// Every operation holds a spin lock taken with Atomics.compareExchange: critical sections are a few
// probes of integer work that cannot throw, so a shard never dies holding it. Atomics on the lock
// order the plain reads and writes of the slots between threads. A slot whose count falls to 0 is
// removed by backward-shift deletion, so probe chains stay intact without tombstones.
// When three quarters of the slots are taken (more distinct addresses than about 0.375 x capacity;
// capacity is sized at twice MAX_CONNECTIONS up to 2^20), a new address is admitted uncounted
// rather than refused: the global MAX_CONNECTIONS still bounds it.
import type { Ip } from '../intake/ip.js';

const LOCK = 0;
const OCCUPIED = 1;
const SEED = 2;
const CAPACITY = 3;
const HEADER = 4;
const SLOT = 4;
const MAX_CAPACITY = 1 << 20;

export type AddressKey = readonly [tag: number, a: number, b: number];

/** The counting key of an address: an IPv4 address, or the /64 of an IPv6 address. */
export function addressKey(ip: Ip): AddressKey {
  const b = ip.bytes;
  const word = (i: number): number => ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) | 0;
  return ip.v4 ? [1, word(12), 0] : [2, word(0), word(4)];
}

/** A table sized for `maxConnections` streams (twice that many slots, a power of two, at most 2^20). */
export function createAddressCounters(maxConnections: number): SharedArrayBuffer {
  let capacity = 16;
  while (capacity < maxConnections * 2 && capacity < MAX_CAPACITY) capacity *= 2;
  const buffer = new SharedArrayBuffer(4 * (HEADER + SLOT * capacity));
  const words = new Int32Array(buffer);
  words[SEED] = (Math.random() * 0x7fffffff) | 0;
  words[CAPACITY] = capacity;
  return buffer;
}

export type Admission = 'counted' | 'uncounted' | 'refused';

export class AddressCounters {
  private readonly words: Int32Array;
  private readonly mask: number;
  private readonly seed: number;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
    this.mask = this.words[CAPACITY]! - 1;
    this.seed = this.words[SEED]!;
  }

  /** Counts one more stream for `key` unless that would pass `limit`. */
  tryAdd(key: AddressKey, limit: number): Admission {
    return this.locked(() => {
      const w = this.words;
      const at = this.find(key);
      if (w[at] !== 0) {
        if (w[at + 3]! >= limit) return 'refused';
        w[at + 3]!++;
        return 'counted';
      }
      if (limit < 1) return 'refused';
      if (w[OCCUPIED]! >= ((this.mask + 1) * 3) / 4) return 'uncounted';
      [w[at], w[at + 1], w[at + 2], w[at + 3]] = [key[0], key[1], key[2], 1];
      w[OCCUPIED]!++;
      return 'counted';
    });
  }

  /** One stream of `key` ended (only for an admission that was 'counted'). */
  remove(key: AddressKey): void {
    this.locked(() => {
      const w = this.words;
      const at = this.find(key);
      if (w[at] === 0) return;
      if (--w[at + 3]! <= 0) this.deleteAt(at);
    });
  }

  /** Streams counted for `key`. */
  count(key: AddressKey): number {
    return this.locked(() => {
      const at = this.find(key);
      return this.words[at] === 0 ? 0 : this.words[at + 3]!;
    });
  }

  /** Distinct addresses with at least one stream. */
  get addresses(): number {
    return this.locked(() => this.words[OCCUPIED]!);
  }

  private locked<T>(fn: () => T): T {
    // Spins: the holder is inside a few integer operations on another thread.
    while (Atomics.compareExchange(this.words, LOCK, 0, 1) !== 0);
    try {
      return fn();
    } finally {
      Atomics.store(this.words, LOCK, 0);
    }
  }

  private home(tag: number, a: number, b: number): number {
    let h = this.seed ^ Math.imul(tag, 0x9e3779b1);
    h = Math.imul(h ^ a, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13) ^ b, 0xc2b2ae35);
    h ^= h >>> 16;
    return h & this.mask;
  }

  /** Word offset of `key`'s slot, or of the empty slot where it would go. */
  private find(key: AddressKey): number {
    const w = this.words;
    for (let i = this.home(key[0], key[1], key[2]); ; i = (i + 1) & this.mask) {
      const at = HEADER + i * SLOT;
      if (w[at] === 0 || (w[at] === key[0] && w[at + 1] === key[1] && w[at + 2] === key[2])) return at;
    }
  }

  /** Backward-shift deletion: later entries of the probe chain move up into the hole. */
  private deleteAt(at: number): void {
    const w = this.words;
    let hole = (at - HEADER) / SLOT;
    for (let i = (hole + 1) & this.mask; ; i = (i + 1) & this.mask) {
      const from = HEADER + i * SLOT;
      if (w[from] === 0) break;
      const home = this.home(w[from]!, w[from + 1]!, w[from + 2]!);
      // may the entry at i move to the hole? only if its home is not within (hole, i]
      const distHome = (i - home) & this.mask;
      const distHole = (i - hole) & this.mask;
      if (distHome >= distHole) {
        const to = HEADER + hole * SLOT;
        w.copyWithin(to, from, from + SLOT);
        hole = i;
      }
    }
    w.fill(0, HEADER + hole * SLOT, HEADER + hole * SLOT + SLOT);
    w[OCCUPIED]!--;
  }
}
