// MAX_CONNECTIONS_PER_IP admission (src/intake/address-limit.ts): by client address, through trusted
// proxies only, leases released once, and off when the limit is 0.
import { describe, expect, it } from 'vitest';
import { AddressLimit } from '../../../src/intake/address-limit.js';
import { TrustedProxies } from '../../../src/intake/client-address.js';
import { createAddressCounters } from '../../../src/threads/address-counters.js';

describe('AddressLimit', () => {
  it('limit 0 (the default) admits everything', () => {
    const limit = new AddressLimit(0, undefined, new TrustedProxies([]));
    expect(limit.enabled).toBe(false);
    for (let i = 0; i < 10; i++) expect(limit.admit('127.0.0.1', '')).toBeDefined();
  });

  it('counts by peer without TRUST_PROXY, and by forwarded address through a trusted proxy', () => {
    const table = createAddressCounters(100);
    const direct = new AddressLimit(2, table, new TrustedProxies([]));
    expect(direct.admit('127.0.0.1', '203.0.113.1')).toBeDefined();
    expect(direct.admit('127.0.0.1', '203.0.113.2')).toBeDefined();
    expect(direct.admit('127.0.0.1', '203.0.113.3')).toBeUndefined(); // X-Forwarded-For ignored: all from 127.0.0.1

    const proxied = new AddressLimit(2, createAddressCounters(100), new TrustedProxies(['127.0.0.1']));
    expect(proxied.admit('127.0.0.1', '203.0.113.1')).toBeDefined();
    expect(proxied.admit('127.0.0.1', '203.0.113.1')).toBeDefined();
    expect(proxied.admit('127.0.0.1', '203.0.113.1')).toBeUndefined();
    expect(proxied.admit('127.0.0.1', '203.0.113.2')).toBeDefined();
  });

  it('a lease gives its place back once, however often it is released', () => {
    const limit = new AddressLimit(1, createAddressCounters(100), new TrustedProxies([]));
    const lease = limit.admit('198.51.100.7', '')!;
    expect(limit.admit('198.51.100.7', '')).toBeUndefined();
    lease.release();
    lease.release();
    const again = limit.admit('198.51.100.7', '');
    expect(again).toBeDefined();
    expect(limit.admit('198.51.100.7', '')).toBeUndefined();
  });
});
