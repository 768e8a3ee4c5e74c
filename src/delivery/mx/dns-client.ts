import { randomInt } from 'node:crypto';
import dns from 'node:dns';
import { isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, SoaAnswer, StringAnswer } from 'dns-packet';
import { ExchangeFailure, exchangeTcp, exchangeUdp, type Expected } from './dns-exchange.js';

/** The record types Herald asks for: MX and addresses for delivery, TXT for DKIM, SPF and DMARC. */
export type DnsRecordType = 'A' | 'AAAA' | 'MX' | 'TXT';

export interface DnsServer {
  host: string;
  port: number;
}

export interface AddressRecord {
  name: string;
  /** Seconds, the smallest TTL along the CNAME chain that led here. */
  ttl: number;
  address: string;
}

export interface MxRecord {
  name: string;
  /** Seconds, the smallest TTL along the CNAME chain that led here. */
  ttl: number;
  /** The mail exchanger, lower case, without the trailing dot; `.` for a null MX (RFC 7505). */
  exchange: string;
  priority: number;
}

export interface TxtRecord {
  name: string;
  /** Seconds, the smallest TTL along the CNAME chain that led here. */
  ttl: number;
  /** The character-strings of one record joined without a separator (RFC 6376 §3.6.2.2, RFC 7208 §3.3). */
  data: string;
}

export interface RecordOfType {
  A: AddressRecord;
  AAAA: AddressRecord;
  MX: MxRecord;
  TXT: TxtRecord;
}

export interface DnsAnswer<T extends DnsRecordType> {
  /** Records of the type asked for, empty when the name exists without one (NODATA). */
  answers: RecordOfType[T][];
  /** For NODATA: how long the absence may be cached, s (RFC 2308 §5: SOA TTL and MINIMUM, the smaller). */
  negativeTtlS: number | null;
  /** The server that answered. */
  server: DnsServer;
  /** 'tcp' when the UDP answer was truncated and the query was asked again over TCP (RFC 7766 §5). */
  transport: 'udp' | 'tcp';
}

export interface QueryOptions {
  /** Servers to ask, in order. @defaultValue the system's, from `dns.getServers()` */
  servers?: readonly DnsServer[];
  /** Time to wait for one server to answer one attempt, ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** Further rounds over every server after the first one fails. @defaultValue 1 */
  retries?: number;
}

/**
 * - NXDOMAIN: the name does not exist; permanent.
 * - BAD_NAME: the name cannot be asked for (empty, label over 63 bytes, over 253 bytes); permanent.
 * - SERVFAIL, REFUSED: the server could not answer; transient.
 * - TIMEOUT: no acceptable answer in time; transient.
 * - BAD_RESPONSE: an answer that could not be decoded, did not match the question over TCP, or an
 *   unexpected RCODE; transient.
 * - NETWORK: the socket failed (refused, reset); transient.
 * - NO_SERVERS: none configured and the system has none; transient.
 */
export type DnsErrorCode = 'NXDOMAIN' | 'BAD_NAME' | 'SERVFAIL' | 'REFUSED' | 'TIMEOUT' | 'BAD_RESPONSE' | 'NETWORK' | 'NO_SERVERS';

/** A query that got no usable answer. `permanent` says whether asking again can help. */
export class DnsError extends Error {
  override readonly name = 'DnsError';
  readonly code: DnsErrorCode;
  readonly qname: string;
  readonly qtype: DnsRecordType;
  /** `host:port` of the server that gave this answer, null when none did. */
  readonly server: string | null;
  /** For NXDOMAIN: how long the absence may be cached, s (RFC 2308 §5), null without an SOA. */
  readonly negativeTtlS: number | null;

  constructor(
    code: DnsErrorCode,
    message: string,
    details: { qname: string; qtype: DnsRecordType; server?: DnsServer | null; negativeTtlS?: number | null; cause?: unknown },
  ) {
    super(message, { cause: details.cause });
    this.code = code;
    this.qname = details.qname;
    this.qtype = details.qtype;
    this.server = details.server ? formatServer(details.server) : null;
    this.negativeTtlS = details.negativeTtlS ?? null;
  }

  get permanent(): boolean {
    return this.code === 'NXDOMAIN' || this.code === 'BAD_NAME';
  }
}

const DEFAULT_TIMEOUT = 5 * 1000; // ms
const DEFAULT_RETRIES = 1;
// RFC 6891 §6.2.5 and DNS Flag Day 2020: 1232 bytes avoids IP fragmentation; larger answers come over TCP.
const EDNS_UDP_SIZE = 1232; // bytes
const MAX_CNAME_HOPS = 8;

/**
 * Asks one question and returns the records with their TTLs, which `dns.Resolver` does not give.
 * UDP first, TCP when the answer is truncated (RFC 1035 §4.2.1, RFC 7766 §5). Each attempt uses a
 * fresh socket (a random source port) and a random id, and only an answer from the server asked,
 * with that id and that question, is taken (RFC 5452 §9.1): a forged datagram is ignored.
 * NXDOMAIN ends the query at once; other failures move on to the next server, then the next round.
 */
export async function query<T extends DnsRecordType>(name: string, type: T, options: QueryOptions = {}): Promise<DnsAnswer<T>> {
  const qname = normalizeName(name);
  if (qname === null) throw new DnsError('BAD_NAME', `not a valid domain name: ${JSON.stringify(name)}`, { qname: name, qtype: type });
  const servers = options.servers && options.servers.length > 0 ? options.servers : systemServers();
  if (servers.length === 0) throw new DnsError('NO_SERVERS', 'no DNS servers configured', { qname, qtype: type });
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT;
  const retries = options.retries ?? DEFAULT_RETRIES;
  let last: DnsError | undefined;
  for (let round = 0; round <= retries; round++) {
    for (const server of servers) {
      try {
        return await ask(server, qname, type, timeoutMs);
      } catch (error) {
        if (!(error instanceof DnsError) || error.code === 'NXDOMAIN') throw error;
        last = error;
      }
    }
  }
  throw last!;
}

/** The system's resolvers (`/etc/resolv.conf` on Unix), as `dns.getServers()` lists them. */
export function systemServers(): DnsServer[] {
  // Through the module object: `dns.setServers` rebinds `getServers` there, a named import would not see it.
  return dns.getServers().map(parseServer);
}

/** `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353` → host and port (53 unless given). */
export function parseServer(text: string): DnsServer {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ? Number(bracketed[2]) : 53 };
  if (isIPv6(text)) return { host: text, port: 53 };
  const colon = text.lastIndexOf(':');
  if (colon > 0) return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  return { host: text, port: 53 };
}

/** `host:port`, the host in brackets when it is IPv6. */
export function formatServer(server: DnsServer): string {
  return isIPv6(server.host) ? `[${server.host}]:${server.port}` : `${server.host}:${server.port}`;
}

/**
 * Lower case, no trailing dot, A-labels for an internationalized name (RFC 5890); null when the
 * name cannot be put in a question (RFC 1035 §2.3.4: labels up to 63 bytes, names up to 253).
 */
export function normalizeName(name: string): string | null {
  let n = name.trim().toLowerCase().replace(/\.$/, '');
  // Non-ASCII only: an ASCII name is asked as written (domainToASCII returns '' for what URLs refuse).
  if (/[^\x00-\x7f]/.test(n)) n = domainToASCII(n);
  if (n === '' || n.length > 253) return null;
  for (const label of n.split('.')) {
    if (label.length === 0 || label.length > 63 || /[\s\x00-\x1f\x7f]/.test(label)) return null;
  }
  return n;
}

async function ask<T extends DnsRecordType>(server: DnsServer, qname: string, type: T, timeoutMs: number, edns = true): Promise<DnsAnswer<T>> {
  const id = randomInt(0, 0x10000);
  const request: Packet = {
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name: qname, class: 'IN' }],
    additionals: edns
      ? [{ type: 'OPT', name: '.', udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      : [],
  };
  const expected: Expected = { id, qname, qtype: type, server };
  const fail = (code: DnsErrorCode, message: string, cause?: unknown, negativeTtlS?: number | null): DnsError =>
    new DnsError(code, `${qname} ${type}: ${message} (${formatServer(server)})`, { qname, qtype: type, server, cause, negativeTtlS });
  let response: DecodedPacket;
  let transport: 'udp' | 'tcp' = 'udp';
  try {
    response = await exchangeUdp(dnsPacket.encode(request), expected, timeoutMs);
    if (response.flag_tc) {
      transport = 'tcp';
      response = await exchangeTcp(dnsPacket.streamEncode(request), expected, timeoutMs);
    }
  } catch (error) {
    if (error instanceof ExchangeFailure) throw fail(error.code, error.message, error.cause);
    throw error;
  }
  const rcode = (response as DecodedPacket & { rcode?: string }).rcode ?? 'NOERROR';
  const negativeTtlS = negativeTtl(response.authorities ?? []);
  switch (rcode) {
    case 'NOERROR':
      return { answers: extract(response.answers ?? [], qname, type), negativeTtlS, server, transport };
    case 'NXDOMAIN':
      throw fail('NXDOMAIN', 'no such domain (NXDOMAIN)', undefined, negativeTtlS);
    case 'SERVFAIL':
      throw fail('SERVFAIL', 'server failure (SERVFAIL)');
    case 'REFUSED':
      throw fail('REFUSED', 'query refused (REFUSED)');
    case 'FORMERR':
      // RFC 6891 §7: a server that does not know EDNS answers FORMERR; ask it again without.
      if (edns) return ask(server, qname, type, timeoutMs, false);
      throw fail('BAD_RESPONSE', 'the server could not read the query (FORMERR)');
    default:
      throw fail('BAD_RESPONSE', `unexpected RCODE ${rcode}`);
  }
}

/**
 * The records of `type` owned by `qname` or reached from it through the CNAMEs in the answer
 * (RFC 1034 §3.6.2; RFC 5321 §5.1 has SMTP clients follow them too), each with the smallest TTL of
 * the chain, since the result stops being true when any link expires.
 */
function extract<T extends DnsRecordType>(answers: Answer[], qname: string, type: T): RecordOfType[T][] {
  let target = qname;
  let chainTtl = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const owned = answers.filter((a) => a.name.toLowerCase().replace(/\.$/, '') === target);
    const matches = owned.filter((a) => a.type === type);
    if (matches.length > 0) {
      return matches.map((a) => toRecord(a, Math.min(chainTtl, ttlOf(a)))).filter((r) => r !== null) as RecordOfType[T][];
    }
    const cname = owned.find((a): a is StringAnswer => a.type === 'CNAME');
    if (!cname) return [];
    chainTtl = Math.min(chainTtl, ttlOf(cname));
    target = cname.data.toLowerCase().replace(/\.$/, '');
  }
  return [];
}

function toRecord(a: Answer, ttl: number): RecordOfType[DnsRecordType] | null {
  const name = a.name.toLowerCase().replace(/\.$/, '');
  if ((a.type === 'A' || a.type === 'AAAA') && typeof a.data === 'string') {
    return { name, ttl, address: a.data };
  }
  if (a.type === 'MX') {
    const exchange = a.data.exchange.toLowerCase();
    return { name, ttl, exchange: exchange === '.' || exchange === '' ? '.' : exchange.replace(/\.$/, ''), priority: a.data.preference ?? 0 };
  }
  if (a.type === 'TXT') {
    const parts = Array.isArray(a.data) ? a.data : [a.data];
    const data = parts.map((p) => (typeof p === 'string' ? p : p.toString('utf8'))).join('');
    return { name, ttl, data };
  }
  return null;
}

function ttlOf(a: Answer): number {
  return 'ttl' in a && typeof a.ttl === 'number' ? a.ttl : 0;
}

/** RFC 2308 §5: a negative answer is cached for the smaller of the SOA's TTL and its MINIMUM field. */
function negativeTtl(authorities: Answer[]): number | null {
  const soa = authorities.find((a): a is SoaAnswer => a.type === 'SOA');
  if (!soa) return null;
  return Math.min(ttlOf(soa), soa.data.minimum ?? ttlOf(soa));
}
