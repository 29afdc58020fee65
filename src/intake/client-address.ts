// Which address a request comes from: the socket's peer, unless the peer is a proxy listed in
// TRUST_PROXY; then X-Forwarded-For is walked from the right (each proxy appends the address it saw)
// and the client is the rightmost address that is not a trusted proxy. Entries left of it were
// written by the client itself and are ignored, so a client cannot choose its own address. The
// header may come as several lines (HAProxy appends one of its own): the caller joins them all, in
// order, with commas, as for any list header (RFC 9110 5.3). Pure.
import { formatIp, inCidr, parseCidr, parseIp, type Cidr, type Ip } from './ip.js';

/** The TRUST_PROXY list: addresses and CIDRs. */
export class TrustedProxies {
  private readonly cidrs: Cidr[];

  /** `entries` are validated by the config; an entry that does not parse is ignored here. */
  constructor(entries: readonly string[]) {
    this.cidrs = entries.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  }

  get empty(): boolean {
    return this.cidrs.length === 0;
  }

  has(ip: Ip): boolean {
    return this.cidrs.some((c) => inCidr(ip, c));
  }
}

/**
 * One X-Forwarded-For entry: an address, possibly with a port (`1.2.3.4:80`, `[::1]:80`) or in
 * brackets, as some proxies write them.
 */
export function parseHop(entry: string): Ip | undefined {
  const text = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(text);
  if (bracketed) return parseIp(bracketed[1]!);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(text);
  return parseIp(v4WithPort ? v4WithPort[1]! : text);
}

/**
 * The client's address as an Ip. Walking X-Forwarded-For from the right, an entry that is not an
 * address (garbage, `unknown`, an empty field) ends the walk: the client is then the last hop known
 * for sure, the trusted proxy that wrote it. undefined only when `peer` itself is not an address.
 */
export function clientIp(peer: string, forwardedFor: string, trusted: TrustedProxies): Ip | undefined {
  const peerIp = parseIp(peer);
  if (peerIp === undefined) return undefined;
  if (trusted.empty || forwardedFor.trim() === '' || !trusted.has(peerIp)) return peerIp;
  let client = peerIp;
  const hops = forwardedFor.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseHop(hops[i]!);
    if (hop === undefined) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/** The client's address in canonical text (dotted IPv4, RFC 5952 IPv6); `peer` unchanged if it is not an address. */
export function clientAddress(peer: string, forwardedFor: string, trusted: TrustedProxies): string {
  const ip = clientIp(peer, forwardedFor, trusted);
  return ip === undefined ? peer : formatIp(ip);
}
