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

  /** The newest number given out: an id past it was never given out by this server. */
  get last(): number {
    return Number(Atomics.load(this.cell, 0));
  }
}
