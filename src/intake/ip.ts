// IP addresses as they arrive from uWS (IPv6 fully expanded, IPv4 possibly mapped), from
// X-Forwarded-For and from TRUST_PROXY: parsed to 16 bytes (IPv4 as IPv4-mapped IPv6), printed in
// one canonical form, and matched against CIDRs. Pure: no I/O, no globals.
import { isIPv4, isIPv6 } from 'node:net';

export interface Ip {
  /** 16 bytes; an IPv4 address is stored IPv4-mapped (::ffff:a.b.c.d) */
  readonly bytes: Uint8Array;
  readonly v4: boolean;
}

export interface Cidr {
  readonly ip: Ip;
  /** prefix length over the 16 bytes (an IPv4 /8 is 96 + 8) */
  readonly bits: number;
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

function isV4Mapped(b: Uint8Array): boolean {
  return V4_MAPPED_PREFIX.every((x, i) => b[i] === x);
}

function parseV4Into(text: string, out: Uint8Array, at: number): boolean {
  // net.isIPv4 already refuses leading zeros and values over 255
  if (!isIPv4(text)) return false;
  text.split('.').forEach((part, i) => (out[at + i] = Number(part)));
  return true;
}

/** An IPv4 or IPv6 address (no port, no zone, no brackets), or undefined. */
export function parseIp(text: string): Ip | undefined {
  const bytes = new Uint8Array(16);
  if (isIPv4(text)) {
    bytes.set(V4_MAPPED_PREFIX);
    parseV4Into(text, bytes, 12);
    return { bytes, v4: true };
  }
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let body = text.toLowerCase();
  // an embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups
  const lastColon = body.lastIndexOf(':');
  const tail = body.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = new Uint8Array(4);
    if (!parseV4Into(tail, v4, 0)) return undefined;
    body = `${body.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head = '', rest] = body.split('::') as [string, string | undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const restGroups = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = 8 - headGroups.length - restGroups.length;
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array<string>(zeros).fill('0'), ...restGroups];
  if (groups.length !== 8) return undefined;
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  });
  const v4 = isV4Mapped(bytes);
  return { bytes, v4 };
}

/** Dotted IPv4 (also for an IPv4-mapped IPv6 address), else RFC 5952 IPv6 (lower case, longest zero run as ::). */
export function formatIp(ip: Ip): string {
  const b = ip.bytes;
  if (ip.v4) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not shortened
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

/** `addr` or `addr/prefix` (IPv4 prefix 0-32, IPv6 0-128), or undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (ip === undefined) return undefined;
  if (slash < 0) return { ip, bits: 128 };
  const raw = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(raw)) return undefined;
  const prefix = Number(raw);
  // a mapped-IPv4 base written as IPv6 (::ffff:10.0.0.0/104) keeps its IPv6 prefix length
  const ipv4Written = isIPv4(text.slice(0, slash));
  if (prefix > (ipv4Written ? 32 : 128)) return undefined;
  return { ip, bits: ipv4Written ? 96 + prefix : prefix };
}

export function inCidr(ip: Ip, cidr: Cidr): boolean {
  const a = ip.bytes;
  const b = cidr.ip.bytes;
  const full = cidr.bits >> 3;
  for (let i = 0; i < full; i++) if (a[i] !== b[i]) return false;
  const rest = cidr.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[full]! & mask) === (b[full]! & mask);
}
