import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/** Longest endpoint URL accepted (SendGrid's own limit is not documented; browsers and proxies keep to about this). */
export const MAX_URL_LENGTH = 2048;

/**
 * Addresses a webhook may never reach unless the operator allows private targets: the guard
 * against server-side request forgery into the operator's own network or a cloud metadata service
 * (169.254.169.254). IANA special-purpose registries (RFC 6890) for the ranges.
 */
const REFUSED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this network", incl. the unspecified address (RFC 1122 §3.2.1.3)
  ['10.0.0.0', 8], // private (RFC 1918)
  ['100.64.0.0', 10], // carrier-grade NAT (RFC 6598)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (RFC 3927), cloud metadata
  ['172.16.0.0', 12], // private (RFC 1918)
  ['192.0.0.0', 24], // IETF protocol assignments (RFC 6890)
  ['192.168.0.0', 16], // private (RFC 1918)
  ['198.18.0.0', 15], // benchmarking (RFC 2544)
  ['224.0.0.0', 4], // multicast (RFC 5771)
  ['240.0.0.0', 4], // reserved, incl. broadcast 255.255.255.255 (RFC 1112 §4)
] as const) REFUSED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified (RFC 4291 §2.5.2)
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local (RFC 4193)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local, deprecated (RFC 3879)
  ['ff00::', 8], // multicast
  ['100::', 64], // discard-only (RFC 6666)
] as const) REFUSED.addSubnet(net, bits, 'ipv6');

/** An IPv4 address embedded in an IPv6 one that reaches it: IPv4-mapped, -compatible or NAT64 (RFC 4291 §2.5.5, RFC 6052). */
function embeddedIpv4(address: string): string | null {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True when `address` (an IP literal) is private, loopback, link-local, unique-local, CGNAT, multicast or unspecified. */
export function isRefusedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return REFUSED.check(address, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(address);
    if (v4 !== null) return REFUSED.check(v4, 'ipv4');
    return REFUSED.check(address, 'ipv6');
  }
  return true;
}

/** Why a URL cannot be a webhook endpoint; thrown by the checks below. */
export class TargetRefused extends Error {
  override readonly name = 'TargetRefused';
}

/** A URL checked for shape: http or https, a host, no more than MAX_URL_LENGTH characters. */
export function parseTargetUrl(raw: string): URL {
  if (raw.length > MAX_URL_LENGTH) throw new TargetRefused(`the URL is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetRefused('the URL is not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TargetRefused('the URL must be http or https');
  if (!url.hostname) throw new TargetRefused('the URL has no host');
  return url;
}

/** An address a request may connect to, checked. */
export interface CheckedTarget {
  url: URL;
  /** The host as the URL names it, without IPv6 brackets. */
  host: string;
  address: string;
  family: 4 | 6;
}

export type Resolve = (host: string) => Promise<{ address: string; family: number }[]>;

export const systemResolve: Resolve = (host) => lookup(host, { all: true, verbatim: true });

/**
 * Resolves the URL's host and checks every address it has: one refused address refuses the whole
 * host (a name answering both a public and a private address is the DNS-rebinding trick). The
 * request then connects to the returned address only, never resolving the name again.
 */
export async function checkTarget(raw: string, allowPrivate: boolean, resolve: Resolve = systemResolve): Promise<CheckedTarget> {
  const url = parseTargetUrl(raw);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: { address: string; family: number }[];
  if (isIP(host)) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch {
      throw new TargetRefused(`the host ${host} does not resolve`);
    }
    if (addresses.length === 0) throw new TargetRefused(`the host ${host} does not resolve`);
  }
  if (!allowPrivate) {
    const refused = addresses.find((a) => isRefusedAddress(a.address));
    if (refused) throw new TargetRefused(`the host ${host} resolves to ${refused.address}, a private, loopback, link-local or reserved address`);
  }
  const first = addresses[0]!;
  return { url, host, address: first.address, family: first.family === 6 ? 6 : 4 };
}
