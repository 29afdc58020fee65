// One server's sequence in shared memory: whichever thread receives a publish claims its numbers
// with one Atomics.add and answers at once, with no round trip to another thread. The numbers are
// the global order; the main thread puts the claimed events back in that order (Reorderer).
export class SharedSequence {
  /** `cell[0]`: the newest sequence number claimed */
  constructor(private readonly cell: BigInt64Array) {}

  /** Claims `n` consecutive numbers; returns the first. */
  claim(n: number): number {
    return Number(Atomics.add(this.cell, 0, BigInt(n))) + 1;
  }

  /** Cluster mode: Redis numbers the events, and the cell counts the ones this server published instead. */
  countPublished(n: number): void {
    Atomics.add(this.cell, 0, BigInt(n));
  }

  /** The newest number given out (cluster mode: how many events this server published). */
  get last(): number {
    return Number(Atomics.load(this.cell, 0));
  }
}
