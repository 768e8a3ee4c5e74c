import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, RecordType } from 'dns-packet';

/** Records of one name, by type. TTLs in seconds, @defaultValue 300 each. */
export interface DnsRecordSet {
  MX?: { exchange: string; priority: number; ttl?: number }[];
  A?: { address: string; ttl?: number }[];
  AAAA?: { address: string; ttl?: number }[];
  /** A string longer than 255 bytes is split into character-strings, as DKIM keys are published. */
  TXT?: { data: string | string[]; ttl?: number }[];
  /** An alias: asked for another type, the server follows it, as a recursive resolver would. */
  CNAME?: { target: string; ttl?: number }[];
}

export type ServedType = keyof DnsRecordSet;

export interface DnsServerOptions {
  /** The zone, by name (no trailing dot). Names not in it answer NXDOMAIN. @defaultValue {} */
  records?: Record<string, DnsRecordSet>;
  /** Delay before every answer, ms. @defaultValue 0 */
  delayMs?: number;
  /**
   * Put an SOA with this TTL and MINIMUM in the authority section of NXDOMAIN and no-data answers
   * (RFC 2308 §3), s; null sends none. @defaultValue null
   */
  negativeTtlS?: number | null;
  /** Understand EDNS (RFC 6891); false answers FORMERR to a query carrying an OPT record, as old servers do. @defaultValue true */
  edns?: boolean;
}

/** How a forged answer is wrong: another id, or the right id for another question. */
export type SpoofKind = 'wrong-id' | 'wrong-question';

export interface QueryLogEntry {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export interface DnsTestServer {
  /** UDP and TCP, the same port. */
  port: number;
  address: '127.0.0.1';
  /** Replaces the records of one type of one name, live; `[]` removes them (the name stays known). */
  set<T extends ServedType>(name: string, type: T, records: NonNullable<DnsRecordSet[T]>): void;
  /** Forgets a name: it answers NXDOMAIN from now on. */
  remove(name: string): void;
  /** Answers every question about `name` with this RCODE until `heal(name)`. @defaultValue 'SERVFAIL' */
  fail(name: string, rcode?: 'SERVFAIL' | 'REFUSED'): void;
  heal(name: string): void;
  /** Delays answers about `name` by `ms` (0 to stop), on top of `delayMs`. */
  delay(name: string, ms: number): void;
  /** Over UDP, answers about `name` are preceded by a forged datagram pointing elsewhere (192.0.2.66, spoofed.invalid). */
  spoof(name: string, kind: SpoofKind): void;
  /** Queries received so far, UDP and TCP. */
  readonly queries: number;
  /** Every query received, in order. */
  readonly log: readonly QueryLogEntry[];
  close(): Promise<void>;
}

const DEFAULT_TTL = 300; // s
const PLAIN_UDP_LIMIT = 512; // bytes, RFC 1035 §4.2.1, without EDNS
const SPOOF_LEAD = 20; // ms the forged datagram arrives before the real one
const MAX_CHAIN = 8;

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

/**
 * A DNS server on 127.0.0.1, UDP and TCP on one port, answering from a zone given as data: enough
 * to drive a real resolver through MX, address and TXT lookups, failures, delays, truncation (an
 * answer larger than the client's UDP size goes out empty with TC set, and whole over TCP) and
 * forged datagrams.
 */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsTestServer> {
  const zone = new Map<string, DnsRecordSet>();
  for (const [name, set] of Object.entries(options.records ?? {})) zone.set(key(name), { ...set });
  const failures = new Map<string, number>();
  const delays = new Map<string, number>();
  const spoofs = new Map<string, SpoofKind>();
  const log: QueryLogEntry[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<Socket>();
  const baseDelay = options.delayMs ?? 0;
  const negativeTtlS = options.negativeTtlS ?? null;
  const edns = options.edns ?? true;
  let closed = false;

  function later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) fn();
    }, ms);
    timers.add(timer);
  }

  function answer(request: DecodedPacket): Packet {
    const question = request.questions?.[0];
    const opt = (request.additionals ?? []).find((a) => a.type === 'OPT');
    const response: Packet = {
      type: 'response',
      id: request.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | (request.flag_rd ? dnsPacket.RECURSION_DESIRED : 0),
      questions: request.questions ?? [],
      answers: [],
      authorities: [],
      additionals: opt && edns ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }] : [],
    };
    if (!question) return response;
    if (opt && !edns) {
      response.flags! |= RCODE.FORMERR;
      return response;
    }
    const name = key(question.name);
    const failure = failures.get(name);
    if (failure !== undefined) {
      response.flags! |= failure;
      return response;
    }
    let target = name;
    for (let hop = 0; hop < MAX_CHAIN; hop++) {
      const set = zone.get(target);
      if (!set) {
        response.flags! |= RCODE.NXDOMAIN;
        break;
      }
      const alias = set.CNAME?.[0];
      if (alias && question.type !== 'CNAME') {
        response.answers!.push({ type: 'CNAME', name: target, ttl: alias.ttl ?? DEFAULT_TTL, data: key(alias.target) });
        target = key(alias.target);
        continue;
      }
      response.answers!.push(...toAnswers(target, question.type, set));
      break;
    }
    const empty = !response.answers!.some((a) => a.type === question.type);
    if (empty && negativeTtlS !== null) {
      response.authorities!.push({
        type: 'SOA',
        name: 'test',
        ttl: negativeTtlS,
        data: { mname: 'ns.test', rname: 'hostmaster.test', serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: negativeTtlS },
      });
    }
    return response;
  }

  /** Answers one query, or with `spoof` first a forged one; `send` gets each datagram or TCP message. */
  function handle(message: Buffer, transport: 'udp' | 'tcp', send: (b: Buffer) => void): void {
    let request: DecodedPacket;
    try {
      request = dnsPacket.decode(message);
    } catch {
      return;
    }
    if (request.type !== 'query') return;
    const question = request.questions?.[0];
    const name = question ? key(question.name) : '';
    log.push({ name, type: question?.type ?? '', transport });
    const response = answer(request);
    let wire = dnsPacket.encode(response);
    if (transport === 'udp') {
      const opt = (request.additionals ?? []).find((a) => a.type === 'OPT');
      const limit = opt && opt.type === 'OPT' && edns ? Math.max(PLAIN_UDP_LIMIT, opt.udpPayloadSize) : PLAIN_UDP_LIMIT;
      // RFC 2181 §9: what does not fit goes out with TC set; the client asks again over TCP.
      if (wire.length > limit) wire = dnsPacket.encode({ ...response, flags: response.flags! | dnsPacket.TRUNCATED_RESPONSE, answers: [], authorities: [] });
    }
    const ms = baseDelay + (delays.get(name) ?? 0);
    const spoof = transport === 'udp' ? spoofs.get(name) : undefined;
    if (spoof && question) {
      send(dnsPacket.encode(forge(response, question.type, spoof)));
      later(Math.max(ms, SPOOF_LEAD), () => send(wire));
      return;
    }
    later(ms, () => send(wire));
  }

  const udp = await bindUdpAndTcp((message, rinfo, socket) => {
    handle(message, 'udp', (wire) => socket.send(wire, rinfo.port, rinfo.address));
  }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        handle(message, 'tcp', (wire) => {
          if (socket.writable) socket.write(Buffer.concat([lengthPrefix(wire.length), wire]));
        });
      }
    });
  });

  return {
    port: udp.port,
    address: '127.0.0.1',
    set(name, type, records) {
      const k = key(name);
      const set = zone.get(k) ?? {};
      set[type] = records;
      zone.set(k, set);
    },
    remove(name) {
      zone.delete(key(name));
    },
    fail(name, rcode = 'SERVFAIL') {
      failures.set(key(name), RCODE[rcode]);
    },
    heal(name) {
      failures.delete(key(name));
    },
    delay(name, ms) {
      if (ms > 0) delays.set(key(name), ms);
      else delays.delete(key(name));
    },
    spoof(name, kind) {
      spoofs.set(key(name), kind);
    },
    get queries() {
      return log.length;
    },
    log,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.socket.close(() => resolve())),
        new Promise<void>((resolve) => udp.server.close(() => resolve())),
      ]);
    },
  };
}

function key(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length);
  return prefix;
}

function toAnswers(name: string, type: RecordType, set: DnsRecordSet): Answer[] {
  switch (type) {
    case 'MX':
      return (set.MX ?? []).map((r) => ({ type: 'MX', name, ttl: r.ttl ?? DEFAULT_TTL, data: { preference: r.priority, exchange: r.exchange } }));
    case 'A':
      return (set.A ?? []).map((r) => ({ type: 'A', name, ttl: r.ttl ?? DEFAULT_TTL, data: r.address }));
    case 'AAAA':
      return (set.AAAA ?? []).map((r) => ({ type: 'AAAA', name, ttl: r.ttl ?? DEFAULT_TTL, data: r.address }));
    case 'TXT':
      // Fresh buffers each time: dns-packet's encoder replaces strings in the array it is given.
      return (set.TXT ?? []).map((r) => ({ type: 'TXT', name, ttl: r.ttl ?? DEFAULT_TTL, data: characterStrings(r.data) }));
    case 'CNAME':
      return (set.CNAME ?? []).map((r) => ({ type: 'CNAME', name, ttl: r.ttl ?? DEFAULT_TTL, data: key(r.target) }));
    default:
      return [];
  }
}

/** RFC 1035 §3.3.14: a TXT record is character-strings of at most 255 bytes each. */
function characterStrings(data: string | string[]): Buffer[] {
  if (Array.isArray(data)) return data.map((s) => Buffer.from(s));
  const bytes = Buffer.from(data);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) chunks.push(Buffer.from(bytes.subarray(i, i + 255)));
  return chunks.length > 0 ? chunks : [Buffer.alloc(0)];
}

/** The real response, pointed elsewhere, with the wrong id or for another question. */
function forge(response: Packet, type: RecordType, kind: SpoofKind): Packet {
  const question = response.questions![0]!;
  const name = question.name;
  const answers: Answer[] =
    type === 'MX'
      ? [{ type: 'MX', name, ttl: 86400, data: { preference: 0, exchange: 'spoofed.invalid' } }]
      : type === 'AAAA'
        ? [{ type: 'AAAA', name, ttl: 86400, data: '2001:db8::66' }]
        : type === 'TXT'
          ? [{ type: 'TXT', name, ttl: 86400, data: [Buffer.from('spoofed')] }]
          : [{ type: 'A', name, ttl: 86400, data: '192.0.2.66' }];
  const flags = response.flags! & ~0xf; // NOERROR, whatever the real answer says
  if (kind === 'wrong-id') return { ...response, id: ((response.id ?? 0) + 1) & 0xffff, flags, answers, authorities: [] };
  const other = { ...question, name: `spoofed.${name}` };
  return { ...response, flags, questions: [other], answers: answers.map((a) => ({ ...a, name: other.name })), authorities: [] };
}

/** Binds UDP on an ephemeral port, then TCP on the same number; tries again if TCP's is taken. */
async function bindUdpAndTcp(
  onDatagram: (message: Buffer, rinfo: RemoteInfo, socket: UdpSocket) => void,
  onConnection: (socket: Socket) => void,
): Promise<{ port: number; socket: UdpSocket; server: Server }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const socket = createSocket('udp4');
    socket.on('message', (message, rinfo) => onDatagram(message, rinfo, socket));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {});
    const port = socket.address().port;
    const server = createServer(onConnection);
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (listening) return { port, socket, server };
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  throw new Error('dns-server: no port free on both UDP and TCP');
}
