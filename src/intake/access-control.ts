// Everything a shard's HTTP handlers ask before letting a request in: tokens (auth.ts) and streams
// per client address (address-limit.ts). Built once per shard (or once with SHARDS=0) from what the
// main thread shares: the JWKS feed and the per-address table.
import type { Config } from '../config/config.js';
import { AddressLimit } from './address-limit.js';
import { Auth } from './auth.js';
import { TrustedProxies } from './client-address.js';
import type { JwksFeed } from './jwks-feed.js';

export interface SharedAccess {
  /** set when JWKS_URL is: the main thread's cache, or a shard's mirror of it */
  jwks?: JwksFeed | undefined;
  /** set when MAX_CONNECTIONS_PER_IP > 0: createAddressCounters' buffer, shared by every shard */
  addressCounters?: SharedArrayBuffer | undefined;
}

export class AccessControl {
  readonly auth: Auth;
  readonly addresses: AddressLimit;

  constructor(config: Config, shared: SharedAccess = {}) {
    this.auth = new Auth(config, shared.jwks);
    this.addresses = new AddressLimit(config.maxConnectionsPerIp, shared.addressCounters, new TrustedProxies(config.trustProxy));
  }

  /** For /healthz `degraded`: what keeps access control from working fully, if anything. */
  healthProblem(): string | undefined {
    return this.auth.healthProblem();
  }
}
