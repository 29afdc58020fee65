// The client address for MAX_CONNECTIONS_PER_IP (src/intake/client-address.ts): the peer, unless the
// peer is a trusted proxy; then the rightmost X-Forwarded-For entry that is not a trusted proxy.
import { describe, expect, it } from 'vitest';
import { clientAddress, parseHop, TrustedProxies } from '../../../src/intake/client-address.js';
import { formatIp } from '../../../src/intake/ip.js';

const NONE = new TrustedProxies([]);
const LOCAL = new TrustedProxies(['127.0.0.1']);
const CHAIN = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);

describe('clientAddress', () => {
  it('without TRUST_PROXY the peer is the client, whatever X-Forwarded-For says', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9', NONE)).toBe('127.0.0.1');
    expect(clientAddress('0000:0000:0000:0000:0000:ffff:c633:6401', '', NONE)).toBe('198.51.100.1');
  });

  it('a peer that is not trusted is the client', () => {
    expect(clientAddress('198.51.100.1', '203.0.113.9', LOCAL)).toBe('198.51.100.1');
  });

  it('a trusted peer without X-Forwarded-For is the client', () => {
    expect(clientAddress('127.0.0.1', '', LOCAL)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '  ', LOCAL)).toBe('127.0.0.1');
  });

  it('through one trusted proxy: the last entry', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9', LOCAL)).toBe('203.0.113.9');
    expect(clientAddress('0000:0000:0000:0000:0000:ffff:7f00:0001', '203.0.113.9', LOCAL)).toBe('203.0.113.9');
  });

  it('entries the client wrote itself (left of the first untrusted one) are ignored', () => {
    // the client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended what it saw
    expect(clientAddress('127.0.0.1', '1.1.1.1, 203.0.113.9', LOCAL)).toBe('203.0.113.9');
    // a client claiming to be a trusted proxy gains nothing: the rightmost untrusted address wins
    expect(clientAddress('127.0.0.1', '10.0.0.1, 203.0.113.9', CHAIN)).toBe('203.0.113.9');
  });

  it('through a chain of trusted proxies: the rightmost untrusted address', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9, 10.1.1.1, 10.2.2.2', CHAIN)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', '2001:db8::7, fd00::2', CHAIN)).toBe('2001:db8::7');
  });

  it('when every hop is trusted, the leftmost one', () => {
    expect(clientAddress('127.0.0.1', '10.0.0.5, 10.0.0.6', CHAIN)).toBe('10.0.0.5');
  });

  it('garbage ends the walk at the last hop known for sure', () => {
    expect(clientAddress('127.0.0.1', 'unknown', LOCAL)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', '203.0.113.9, garbage', LOCAL)).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', 'garbage, 10.0.0.9', CHAIN)).toBe('10.0.0.9');
    expect(clientAddress('127.0.0.1', '203.0.113.9,,', LOCAL)).toBe('127.0.0.1');
  });

  it('reads entries with ports and brackets, as some proxies write them', () => {
    expect(clientAddress('127.0.0.1', '203.0.113.9:51234', LOCAL)).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', '[2001:db8::7]:443', LOCAL)).toBe('2001:db8::7');
    expect(formatIp(parseHop(' [2001:DB8::7] ')!)).toBe('2001:db8::7');
  });

  it('prints addresses in one form, so one client is one key', () => {
    expect(clientAddress('127.0.0.1', '2001:DB8:0:0:0:0:0:7', LOCAL)).toBe('2001:db8::7');
    expect(clientAddress('127.0.0.1', '::ffff:203.0.113.9', LOCAL)).toBe('203.0.113.9');
  });

  it('a peer that is not an address comes back unchanged', () => {
    expect(clientAddress('', '203.0.113.9', LOCAL)).toBe('');
  });
});
