// MAX_CONNECTIONS_PER_IP: admits a stream for its client address (see client-address.ts) while that
// address has fewer than the limit open across all shards (the shared table of address-counters.ts).
import { AddressCounters, addressKey, type AddressKey } from '../threads/address-counters.js';
import { clientIp, type TrustedProxies } from './client-address.js';

export interface AddressLease {
  /** the stream ended: give its place back (idempotent) */
  release(): void;
}

const FREE: AddressLease = { release() {} };

export class AddressLimit {
  private readonly counters: AddressCounters | undefined;

  /** `table` is the shared buffer made by createAddressCounters; without it (limit 0) every stream is admitted. */
  constructor(
    private readonly limit: number,
    table: SharedArrayBuffer | undefined,
    private readonly trusted: TrustedProxies,
  ) {
    this.counters = limit > 0 && table !== undefined ? new AddressCounters(table) : undefined;
  }

  get enabled(): boolean {
    return this.counters !== undefined;
  }

  /** A lease while the address is within the limit, undefined when it is over. */
  admit(peer: string, forwardedFor: string): AddressLease | undefined {
    const counters = this.counters;
    if (counters === undefined) return FREE;
    const ip = clientIp(peer, forwardedFor, this.trusted);
    if (ip === undefined) return FREE; // not an IP socket: nothing to count by
    const key: AddressKey = addressKey(ip);
    const admission = counters.tryAdd(key, this.limit);
    if (admission === 'refused') return undefined;
    if (admission === 'uncounted') return FREE;
    let held = true;
    return {
      release() {
        if (!held) return;
        held = false;
        counters.remove(key);
      },
    };
  }
}
