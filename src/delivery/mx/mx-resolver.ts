import { isIP } from 'node:net';
import { DeliveryError } from '../delivery-error.js';
import { DnsError, normalizeName, query, type DnsAnswer, type DnsRecordType, type DnsServer, type MxRecord } from './dns-client.js';
import { shuffleEqualPriorities, type Destination, type MxHost } from './destination.js';
import { parseOverrides, type OverrideTarget } from './mx-override.js';

export interface MxResolverOptions {
  /** DNS servers to ask, in order. @defaultValue the system's, from `dns.getServers()` */
  servers?: readonly DnsServer[];
  /** Time one server has to answer one query, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** Further rounds over every server after a query fails. @defaultValue 1 */
  retries?: number;
  /** Shortest time an answer is cached, whatever its TTL, s; also how long a failed lookup is. @defaultValue 5 */
  minTtlS?: number;
  /** Longest time an answer is cached, whatever its TTL, s. @defaultValue 3600 */
  maxTtlS?: number;
  /** How long NXDOMAIN or "no address" is cached when the answer carries no SOA, s. @defaultValue 300 */
  negativeTtlS?: number;
  /** Look up AAAA records and connect over IPv6 too. @defaultValue true */
  ipv6?: boolean;
  /** Put IPv6 addresses before IPv4 ones. @defaultValue false */
  preferIpv6?: boolean;
  /** Port of MX hosts; overrides may name their own. @defaultValue 25 */
  smtpPort?: number;
  /** Domains sent to fixed hosts instead of their MX: `{ 'example.com': ['127.0.0.2:2525'] }`. @defaultValue {} */
  mxOverrides?: Readonly<Record<string, readonly string[]>>;
  /** Most hosts returned for one domain. @defaultValue 10 */
  maxHosts?: number;
  /** Most domains kept in the cache; the oldest entry goes first. @defaultValue 10000 */
  cacheSize?: number;
  /** The clock for TTLs, epoch ms. @defaultValue Date.now */
  now?: () => number;
}

/** A destination, or a transient failure kept for `minTtlS` so a failing domain is not asked for every message. */
type Outcome = Destination | { kind: 'failure'; error: DeliveryError; expiresAt: number };

interface Addresses {
  addresses: string[];
  /** Smallest TTL of the records used, s; +∞ when none. */
  ttl: number;
  /** A transient failure of one of the lookups, if any. */
  failure: DnsError | null;
}

/** Upper bound on the exchanges looked up for one domain, whatever its MX set holds. */
const MAX_EXCHANGES_FACTOR = 2;

/**
 * Finds where mail for a domain goes (RFC 5321 §5.1) and caches it for as long as DNS says it
 * holds: MX by preference, each exchange's addresses, the domain's own address when it has no MX,
 * null MX (RFC 7505) and non-existent domains as permanent answers. Concurrent lookups of one domain
 * share one set of queries.
 */
export class MxResolver {
  private readonly servers: readonly DnsServer[] | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly minTtlS: number;
  private readonly maxTtlS: number;
  private readonly negativeTtlS: number;
  private readonly ipv6: boolean;
  private readonly preferIpv6: boolean;
  private readonly smtpPort: number;
  private readonly maxHosts: number;
  private readonly cacheSize: number;
  private readonly now: () => number;
  private overrides: Map<string, OverrideTarget[]>;
  private readonly cache = new Map<string, Outcome>();
  private readonly inFlight = new Map<string, Promise<Outcome>>();
  /** Bumped by `clear` and `setOverrides`, so a lookup started before them is not cached after. */
  private generation = 0;

  constructor(options: MxResolverOptions = {}) {
    this.servers = options.servers;
    this.timeoutMs = options.timeoutMs ?? 5 * 1000;
    this.retries = options.retries ?? 1;
    this.minTtlS = options.minTtlS ?? 5;
    this.maxTtlS = options.maxTtlS ?? 60 * 60;
    this.negativeTtlS = options.negativeTtlS ?? 5 * 60;
    this.ipv6 = options.ipv6 ?? true;
    this.preferIpv6 = options.preferIpv6 ?? false;
    this.smtpPort = options.smtpPort ?? 25;
    this.maxHosts = options.maxHosts ?? 10;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.now = options.now ?? Date.now;
    if (this.minTtlS > this.maxTtlS) throw new Error('MxResolver: minTtlS is above maxTtlS');
    this.overrides = parseOverrides(options.mxOverrides ?? {}, this.smtpPort);
  }

  /**
   * Where mail for `domain` goes. Throws a `DeliveryError` without a reply code when DNS fails
   * (SERVFAIL, timeout, ...): the attempt is deferred.
   */
  async resolveDestination(domain: string): Promise<Destination> {
    const literal = addressLiteral(domain);
    if (literal !== null) {
      // RFC 5321 §4.1.3: `user@[192.0.2.1]` goes straight to that address.
      const host: MxHost = { exchange: domain, priority: 0, addresses: [literal], port: this.smtpPort };
      return { kind: 'hosts', hosts: [host], expiresAt: this.expiry(Number.POSITIVE_INFINITY) };
    }
    const name = normalizeName(domain);
    if (name === null) {
      return { kind: 'no-domain', status: '5.1.2', reason: `${JSON.stringify(domain)} is not a valid domain name`, expiresAt: this.expiry(Number.POSITIVE_INFINITY) };
    }
    const cached = this.cache.get(name);
    if (cached !== undefined) {
      if (cached.expiresAt > this.now()) return present(cached);
      this.cache.delete(name);
    }
    let pending = this.inFlight.get(name);
    if (pending === undefined) {
      const generation = this.generation;
      pending = this.lookup(name)
        .then((outcome) => {
          if (generation === this.generation) this.remember(name, outcome);
          return outcome;
        })
        .finally(() => {
          if (this.inFlight.get(name) === pending) this.inFlight.delete(name);
        });
      this.inFlight.set(name, pending);
    }
    return present(await pending);
  }

  /** Replaces the overrides (live config reload) and forgets every cached answer. */
  setOverrides(overrides: Readonly<Record<string, readonly string[]>>): void {
    this.overrides = parseOverrides(overrides, this.smtpPort);
    this.clear();
  }

  /** Forgets every cached answer. */
  clear(): void {
    this.cache.clear();
    this.inFlight.clear();
    this.generation++;
  }

  private remember(name: string, outcome: Outcome): void {
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(name, outcome);
  }

  private async lookup(domain: string): Promise<Outcome> {
    try {
      const override = this.overrides.get(domain);
      return override ? await this.lookupOverride(domain, override) : await this.lookupMx(domain);
    } catch (error) {
      let failure: DeliveryError;
      if (error instanceof DeliveryError) failure = error;
      else if (error instanceof DnsError) failure = dnsFailure(domain, error);
      else throw error;
      // RFC 2308 §7.1 lets a server failure be cached (up to 5 minutes); the floor is enough to
      // keep a domain with many queued messages from asking again for each of them.
      return { kind: 'failure', error: failure, expiresAt: this.expiry(this.minTtlS) };
    }
  }

  private async lookupMx(domain: string): Promise<Outcome> {
    let mx: DnsAnswer<'MX'>;
    try {
      mx = await this.ask(domain, 'MX');
    } catch (error) {
      if (error instanceof DnsError && error.code === 'NXDOMAIN') {
        return { kind: 'no-domain', status: '5.1.2', reason: `domain ${domain} does not exist (NXDOMAIN)`, expiresAt: this.negativeExpiry(error.negativeTtlS) };
      }
      throw error;
    }
    if (mx.answers.length === 0) return this.implicitMx(domain, mx.negativeTtlS);
    const mxTtl = Math.min(...mx.answers.map((r) => r.ttl));
    if (mx.answers.length === 1 && mx.answers[0]!.exchange === '.') {
      return { kind: 'null-mx', status: '5.1.10', reason: `${domain} does not accept mail (null MX, RFC 7505)`, expiresAt: this.expiry(mxTtl) };
    }
    // RFC 7505 §3: a null MX among others is ignored. RFC 5321 §5.1: an exchange must be a name;
    // an address in its place is not followed.
    const candidates = usableExchanges(mx.answers).map((r) => ({ exchange: r.exchange, priority: r.priority, port: this.smtpPort }));
    if (candidates.length === 0) {
      return { kind: 'no-domain', status: '5.4.4', reason: `no usable MX host for ${domain}: every exchange is "." or an IP address`, expiresAt: this.expiry(mxTtl) };
    }
    const found = await this.resolveHosts(shuffleEqualPriorities(candidates));
    if (found.hosts.length === 0) {
      if (found.failure) throw found.failure;
      return { kind: 'no-domain', status: '5.4.4', reason: `no MX host of ${domain} has an address`, expiresAt: this.negativeExpiry(Math.min(mxTtl, this.negativeTtlS)) };
    }
    const ttl = found.failure ? this.minTtlS : Math.min(mxTtl, found.ttl);
    return { kind: 'hosts', hosts: found.hosts, expiresAt: this.expiry(ttl) };
  }

  /** RFC 5321 §5.1: no MX records → the domain itself is the only host, with preference 0. */
  private async implicitMx(domain: string, noMxTtl: number | null): Promise<Outcome> {
    const found = await this.addressesOf(domain);
    if (found.addresses.length > 0) {
      const host: MxHost = { exchange: domain, priority: 0, addresses: found.addresses, port: this.smtpPort };
      const ttl = found.failure ? this.minTtlS : Math.min(found.ttl, noMxTtl ?? Number.POSITIVE_INFINITY);
      return { kind: 'hosts', hosts: [host], expiresAt: this.expiry(ttl) };
    }
    if (found.failure) throw found.failure;
    return { kind: 'no-domain', status: '5.4.4', reason: `${domain} has no MX and no address record`, expiresAt: this.negativeExpiry(noMxTtl) };
  }

  /** Operator-fixed hosts, in the order given. A name that does not resolve defers: it is a config error, not the recipient's. */
  private async lookupOverride(domain: string, targets: OverrideTarget[]): Promise<Outcome> {
    const found = await Promise.all(
      targets.map((t): Promise<Addresses> =>
        t.literal ? Promise.resolve({ addresses: [t.host], ttl: Number.POSITIVE_INFINITY, failure: null }) : this.addressesOf(t.host),
      ),
    );
    const hosts: MxHost[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    let failure: DnsError | null = null;
    targets.forEach((t, i) => {
      const f = found[i]!;
      failure ??= f.failure;
      if (f.addresses.length === 0) return;
      hosts.push({ exchange: t.host, priority: i, addresses: f.addresses, port: t.port });
      ttl = Math.min(ttl, f.ttl);
    });
    if (hosts.length === 0) {
      if (failure) throw failure;
      const message = `no host in mxOverrides for ${domain} has an address`;
      throw new DeliveryError(message, { response: message });
    }
    return { kind: 'hosts', hosts: hosts.slice(0, this.maxHosts), expiresAt: this.expiry(failure ? this.minTtlS : ttl) };
  }

  /**
   * Looks up exchanges in order until `maxHosts` have addresses; an exchange with none is skipped.
   * At most `maxHosts × 2` exchanges are looked up, so a huge MX set cannot fan out into hundreds of queries.
   */
  private async resolveHosts(candidates: { exchange: string; priority: number; port: number }[]): Promise<{ hosts: MxHost[]; ttl: number; failure: DnsError | null }> {
    const limit = Math.min(candidates.length, this.maxHosts * MAX_EXCHANGES_FACTOR);
    const hosts: MxHost[] = [];
    let ttl = Number.POSITIVE_INFINITY;
    let failure: DnsError | null = null;
    let next = 0;
    while (hosts.length < this.maxHosts && next < limit) {
      const batch = candidates.slice(next, Math.min(limit, next + this.maxHosts - hosts.length));
      next += batch.length;
      const found = await Promise.all(batch.map((c) => this.addressesOf(c.exchange)));
      batch.forEach((c, i) => {
        const f = found[i]!;
        failure ??= f.failure;
        if (f.addresses.length === 0) return;
        hosts.push({ ...c, addresses: f.addresses });
        ttl = Math.min(ttl, f.ttl);
      });
    }
    return { hosts, ttl, failure };
  }

  /** A and (unless disabled) AAAA of one name, the preferred family first. NXDOMAIN or no record adds nothing. */
  private async addressesOf(name: string): Promise<Addresses> {
    const types: ('A' | 'AAAA')[] = this.ipv6 ? ['A', 'AAAA'] : ['A'];
    const settled = await Promise.allSettled(types.map((type) => this.ask(name, type)));
    const byType = { A: [] as string[], AAAA: [] as string[] };
    let ttl = Number.POSITIVE_INFINITY;
    let failure: DnsError | null = null;
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') {
        for (const r of result.value.answers) {
          byType[types[i]!].push(r.address);
          ttl = Math.min(ttl, r.ttl);
        }
        return;
      }
      const error: unknown = result.reason;
      if (!(error instanceof DnsError)) throw error;
      if (!error.permanent) failure ??= error;
    });
    const ordered = this.preferIpv6 ? [...byType.AAAA, ...byType.A] : [...byType.A, ...byType.AAAA];
    return { addresses: [...new Set(ordered)], ttl, failure };
  }

  private ask<T extends DnsRecordType>(name: string, type: T): Promise<DnsAnswer<T>> {
    return query(name, type, { servers: this.servers, timeoutMs: this.timeoutMs, retries: this.retries });
  }

  private expiry(ttlS: number): number {
    const clamped = Math.min(this.maxTtlS, Math.max(this.minTtlS, Number.isFinite(ttlS) ? ttlS : this.maxTtlS));
    return this.now() + clamped * 1000;
  }

  /** RFC 2308 §5: the SOA's negative TTL when the answer had one, else the configured default. */
  private negativeExpiry(soaTtlS: number | null): number {
    return this.expiry(soaTtlS ?? this.negativeTtlS);
  }
}

/** MX records worth trying: no `.`, no IP address; one entry per exchange at its best preference. */
function usableExchanges(records: MxRecord[]): MxRecord[] {
  const best = new Map<string, MxRecord>();
  for (const r of records) {
    if (r.exchange === '.' || isIP(r.exchange) !== 0 || r.exchange.startsWith('[')) continue;
    const seen = best.get(r.exchange);
    if (!seen || r.priority < seen.priority) best.set(r.exchange, r);
  }
  return [...best.values()];
}

/** `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 §4.1.3) → the address; anything else → null. */
function addressLiteral(domain: string): string | null {
  const match = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(domain.trim());
  if (!match) return null;
  const address = match[1]!;
  const v6Tagged = /^\[ipv6:/i.test(domain.trim());
  const family = isIP(address);
  return (v6Tagged ? family === 6 : family === 4) ? address : null;
}

function dnsFailure(domain: string, error: DnsError): DeliveryError {
  // The response goes into the deferred event; the server's address stays in the message and cause.
  const response = `DNS lookup failed for ${domain}: ${error.qname} ${error.qtype} ${error.code}`;
  return new DeliveryError(error.message, { response, cause: error });
}

/** A copy for one caller: hosts of equal preference reshuffled each time, a cached failure thrown anew. */
function present(outcome: Outcome): Destination {
  switch (outcome.kind) {
    case 'failure': {
      const e = outcome.error;
      throw new DeliveryError(e.message, { response: e.response, cause: e.cause });
    }
    case 'hosts':
      return {
        kind: 'hosts',
        hosts: shuffleEqualPriorities(outcome.hosts).map((h) => ({ ...h, addresses: [...h.addresses] })),
        expiresAt: outcome.expiresAt,
      };
    default:
      return { ...outcome };
  }
}
