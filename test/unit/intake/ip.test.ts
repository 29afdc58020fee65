// IP parsing, canonical printing and CIDR matching (src/intake/ip.ts), including the forms uWS gives:
// IPv6 fully expanded, IPv4 as IPv4-mapped IPv6.
import { describe, expect, it } from 'vitest';
import { formatIp, inCidr, parseCidr, parseIp } from '../../../src/intake/ip.js';

const canon = (text: string): string | undefined => {
  const ip = parseIp(text);
  return ip === undefined ? undefined : formatIp(ip);
};

describe('parseIp + formatIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.1'], // uWS, IPv4 on a dual-stack socket
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'], // uWS, IPv6 loopback
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal zero runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not shortened
    ['::', '::'],
    ['fe80::', 'fe80::'],
  ])('%s is %s', (text, expected) => {
    expect(canon(text)).toBe(expected);
  });

  it.each(['', 'localhost', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4:80', '[::1]', '::1%eth0', '2001:db8::1::2', 'unknown', ' 1.2.3.4'])(
    'refuses %j',
    (text) => {
      expect(parseIp(text)).toBeUndefined();
    },
  );
});

describe('CIDRs', () => {
  const within = (ip: string, cidr: string): boolean => inCidr(parseIp(ip)!, parseCidr(cidr)!);

  it('matches IPv4 prefixes, an address alone is a /32', () => {
    expect(within('10.1.2.3', '10.0.0.0/8')).toBe(true);
    expect(within('11.1.2.3', '10.0.0.0/8')).toBe(false);
    expect(within('192.168.1.200', '192.168.1.128/25')).toBe(true);
    expect(within('192.168.1.127', '192.168.1.128/25')).toBe(false);
    expect(within('127.0.0.1', '127.0.0.1')).toBe(true);
    expect(within('127.0.0.2', '127.0.0.1')).toBe(false);
    expect(within('8.8.8.8', '0.0.0.0/0')).toBe(true);
  });

  it('an IPv4 CIDR matches the IPv4-mapped form uWS gives, and not other IPv6', () => {
    expect(within('0000:0000:0000:0000:0000:ffff:7f00:0001', '127.0.0.0/8')).toBe(true);
    expect(within('::1', '127.0.0.0/8')).toBe(false);
    expect(within('::1', '0.0.0.0/0')).toBe(false);
  });

  it('matches IPv6 prefixes', () => {
    expect(within('fd00::1', 'fd00::/8')).toBe(true);
    expect(within('fe00::1', 'fd00::/8')).toBe(false);
    expect(within('2001:db8:1:2::5', '2001:db8:1::/48')).toBe(true);
    expect(within('2001:db8:2::5', '2001:db8:1::/48')).toBe(false);
    expect(within('::1', '::1')).toBe(true);
  });

  it.each(['10.0.0.0/33', '::/129', '10.0.0.0/', '10.0.0.0/x', 'nonsense/8', '10.0.0.0/8/8'])('refuses %j', (text) => {
    expect(parseCidr(text)).toBeUndefined();
  });
});
