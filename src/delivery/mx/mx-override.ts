import { isIP } from 'node:net';
import { normalizeName } from './dns-client.js';

/** One fixed next hop for a domain: an IP address or a host name to look up, and a port. */
export interface OverrideTarget {
  host: string;
  port: number;
  /** True when `host` is an IP address and needs no lookup. */
  literal: boolean;
}

/**
 * Parses `mxOverrides` (`{ 'example.com': ['127.0.0.2:2525', 'mx.internal', '[::1]:2526'] }`):
 * each domain maps to hosts tried in the order given, on `defaultPort` unless one is written.
 * Throws on a malformed entry, so a bad config fails at start-up and not at the first message.
 */
export function parseOverrides(
  overrides: Readonly<Record<string, readonly string[]>>,
  defaultPort: number,
): Map<string, OverrideTarget[]> {
  const parsed = new Map<string, OverrideTarget[]>();
  for (const [domain, entries] of Object.entries(overrides)) {
    const key = normalizeName(domain);
    if (key === null) throw new Error(`mxOverrides: ${JSON.stringify(domain)} is not a domain name`);
    if (!Array.isArray(entries) || entries.length === 0) throw new Error(`mxOverrides: ${key} needs at least one host`);
    parsed.set(
      key,
      entries.map((entry) => parseTarget(entry, defaultPort, key)),
    );
  }
  return parsed;
}

/** `1.2.3.4`, `1.2.3.4:2525`, `::1`, `[::1]`, `[::1]:2525`, `mx.example`, `mx.example:2525`. */
function parseTarget(entry: string, defaultPort: number, domain: string): OverrideTarget {
  const bad = (): Error => new Error(`mxOverrides: ${JSON.stringify(entry)} for ${domain} is not host, host:port or [ipv6]:port`);
  if (typeof entry !== 'string') throw bad();
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2];
    if (isIP(host) !== 6) throw bad();
  } else if (isIP(entry) === 6) {
    host = entry;
  } else {
    const match = /^([^:\s]+)(?::(\d+))?$/.exec(entry);
    if (!match) throw bad();
    host = match[1]!;
    portText = match[2];
  }
  const port = portText === undefined ? defaultPort : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad();
  if (isIP(host) !== 0) return { host, port, literal: true };
  const name = normalizeName(host);
  if (name === null) throw bad();
  return { host: name, port, literal: false };
}
