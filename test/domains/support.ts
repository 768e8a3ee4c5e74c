import { Resolver } from 'node:dns/promises';
import type { DnsTestServer } from '../support/dns-server.js';

/** A mailauth `resolver` that asks the loopback DNS server, as a receiving MTA would ask the world. */
export function resolverFor(server: DnsTestServer): (name: string, rrtype: string) => Promise<string[][]> {
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.port}`]);
  return async (name, rrtype) => {
    if (rrtype !== 'TXT') throw Object.assign(new Error(`only TXT in this test: ${rrtype}`), { code: 'ENOTFOUND' });
    return resolver.resolveTxt(name);
  };
}

/** Publishes `{host, data}` records as TXT on the server (long ones split into 255-byte strings). */
export function publish(server: DnsTestServer, records: { host: string; data: string }[]): void {
  for (const r of records) server.set(r.host, 'TXT', [{ data: r.data }]);
}
