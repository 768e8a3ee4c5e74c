import { MxResolver, type MxResolverOptions } from '../../../src/delivery/mx/mx-resolver.js';
import { startDnsServer, type DnsServerOptions, type DnsTestServer } from '../../support/dns-server.js';

/** A clock a test moves by hand, for TTLs. */
export interface TestClock {
  now: () => number;
  advance(ms: number): void;
}

export function testClock(start = 1_700_000_000_000): TestClock {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}

/** A DNS server closed when the test ends. */
export async function dnsServer(t: { after(fn: () => Promise<void>): void }, options: DnsServerOptions): Promise<DnsTestServer> {
  const server = await startDnsServer(options);
  t.after(() => server.close());
  return server;
}

/** A resolver that asks only `dns`, quickly, with no retries. */
export function resolverFor(dns: DnsTestServer, options: MxResolverOptions = {}): MxResolver {
  return new MxResolver({ servers: [{ host: dns.address, port: dns.port }], timeoutMs: 2000, retries: 0, ...options });
}
