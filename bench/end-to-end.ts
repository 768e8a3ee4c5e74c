import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSinkProcess, type SinkProcess } from './sink-client.js';
import { startHeraldProcess, type HeraldProcess } from './herald-process.js';
import { postMany } from './http-load.js';
import { startDnsServer, type DnsRecordSet, type DnsTestServer } from '../test/support/dns-server.js';
import { PINNED_CONNECTIONS } from './ceiling.js';

const REQUESTS_IN_FLIGHT = 64; // HTTP requests in flight with one recipient per request
const BATCHED_IN_FLIGHT = 4; // with many: a bulk sender has few large requests going at a time
const ARRIVAL_TIMEOUT = 120 * 1000; // ms
/**
 * Direct MX runs: recipients spread over this many domains, each with its own MX host on its own
 * loopback address (127.0.0.2, .3, ...), all served by one sink process on one port. Connections
 * per domain are Herald's default (destinationMaxConnections): with one per domain, at most four
 * messages per domain are in progress, and the run measures round trips rather than Herald.
 */
const MX_DOMAINS = 4;

/**
 * How Herald delivers in a run: through the sink as its relay with Herald's default pool
 * (`smtpPoolSize`), the same pinned to the raw sender's connection count, or to each domain's MX.
 */
export type Route = 'relay' | 'relay-pinned' | 'mx';

export interface EndToEndResult {
  /** Messages delivered at the sink per second, from the first request to the last arrival. */
  msgPerSec: number;
  /** Messages accepted (202) per second over the accept phase alone. */
  acceptPerSec: number;
  /** Messages delivered per second while requests were still being accepted, and after the last 202. */
  deliveryWhileAcceptingPerSec: number;
  deliveryAfterAcceptingPerSec: number;
}

export interface LatencyResult {
  /** Offered load, messages per second. */
  ratePerSec: number;
  messages: number;
  /** ms from a message's 202 (read by the client) to its arrival at the sink. */
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

/**
 * A SendGrid v3 body with `recipients` personalizations of one `to` each (each its own message and
 * SMTP transaction), numbered from `first`, and a text part of about `size` bytes.
 */
function mailBody(size: number, first: number, recipients: number, domains = 1): Buffer {
  const line = 'Herald end-to-end benchmark body line, seventy-odd characters of text.\n';
  const text = line.repeat(Math.max(1, Math.ceil((size - 400) / line.length))).slice(0, Math.max(64, size - 400));
  return Buffer.from(JSON.stringify({
    personalizations: Array.from({ length: recipients }, (_, k) => ({ to: [{ email: `rcpt${first + k}@${domainOf(first + k, domains)}` }] })),
    from: { email: 'bench@herald.example' },
    subject: `bench ${first}`,
    content: [{ type: 'text/plain', value: text }],
  }));
}

function domainOf(n: number, domains: number): string {
  return domains === 1 ? 'bench.example' : `bench${n % domains}.example`;
}

/** The sink, Herald's settings to reach it, and (direct MX) the DNS server naming its hosts. */
async function startRoute(route: Route, recordArrivals = false): Promise<{ sink: SinkProcess; env: Record<string, string>; dns: DnsTestServer | null }> {
  if (route !== 'mx') {
    const sink = await startSinkProcess({ recordArrivals });
    const env: Record<string, string> = { HERALD_SMTP_RELAY: `smtp://127.0.0.1:${sink.port}` };
    if (route === 'relay-pinned') env.HERALD_SMTP_POOL_SIZE = String(PINNED_CONNECTIONS);
    return { sink, dns: null, env };
  }
  const hosts = Array.from({ length: MX_DOMAINS }, (_, i) => `127.0.0.${i + 2}`);
  const sink = await startSinkProcess({ recordArrivals, hosts });
  const records: Record<string, DnsRecordSet> = {};
  hosts.forEach((address, i) => {
    records[domainOf(i, MX_DOMAINS)] = { MX: [{ exchange: `mx.${domainOf(i, MX_DOMAINS)}`, priority: 10 }] };
    records[`mx.${domainOf(i, MX_DOMAINS)}`] = { A: [{ address }] };
  });
  const dns = await startDnsServer({ records });
  return {
    sink,
    dns,
    env: {
      HERALD_DELIVERY_TRANSPORT: 'mx',
      HERALD_DNS_SERVERS: `127.0.0.1:${dns.port}`,
      HERALD_SMTP_PORT: String(sink.port),
      HERALD_SMTP_IPV6: 'false',
    },
  };
}

/**
 * Node options for the Herald child: BENCH_CPU_PROF=<dir> writes a V8 CPU profile there when it
 * exits (it is stopped with SIGTERM and exits cleanly, so the profile is complete).
 */
function heraldNodeArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

async function untilArrived(sink: SinkProcess, messages: number): Promise<void> {
  const deadline = performance.now() + ARRIVAL_TIMEOUT;
  let arrived = await sink.count();
  while (arrived < messages) {
    if (performance.now() > deadline) throw new Error(`end-to-end: ${arrived} of ${messages} messages reached the sink within ${ARRIVAL_TIMEOUT} ms`);
    await sleep(10);
    arrived = await sink.count();
  }
}

/**
 * Called when the last request was answered: waits for every message at the sink and times the
 * run from `started`. What the sink had counted by then says how far delivery kept up while the
 * process was also accepting.
 */
async function timedDelivery(sink: SinkProcess, messages: number, started: number, accepted: number, acceptMs: number): Promise<EndToEndResult> {
  const acceptedAt = performance.now() - started;
  const deliveredWhileAccepting = await sink.count();
  await untilArrived(sink, messages);
  const ms = performance.now() - started;
  return {
    msgPerSec: messages / (ms / 1000),
    acceptPerSec: accepted / (acceptMs / 1000),
    deliveryWhileAcceptingPerSec: deliveredWhileAccepting / (acceptedAt / 1000),
    deliveryAfterAcceptingPerSec: (messages - deliveredWhileAccepting) / (Math.max(1, ms - acceptedAt) / 1000),
  };
}

/**
 * HTTP accept → delivered at the sink: a Herald process relaying to a sink process, driven over
 * HTTP by this process with `recipientsPerRequest` personalizations per request. Timed until the
 * sink has counted every message. `messages` must be a multiple of `recipientsPerRequest`.
 */
export async function measureEndToEnd(size: number, messages: number, recipientsPerRequest = 1, route: Route = 'relay'): Promise<EndToEndResult> {
  if (messages % recipientsPerRequest !== 0) throw new Error(`end-to-end: ${messages} messages do not split into requests of ${recipientsPerRequest}`);
  const { sink, env, dns } = await startRoute(route);
  const domains = route === 'mx' ? MX_DOMAINS : 1;
  const herald = await startHeraldProcess(env, heraldNodeArgs()).catch(async (error: unknown) => {
    await sink.stop();
    await dns?.close();
    throw error;
  });
  try {
    const requests = messages / recipientsPerRequest;
    const started = performance.now();
    const load = await postMany(`${herald.url}/v3/mail/send`, herald.apiKey, (i) => mailBody(size, i * recipientsPerRequest, recipientsPerRequest, domains), requests, {
      concurrency: recipientsPerRequest === 1 ? REQUESTS_IN_FLIGHT : BATCHED_IN_FLIGHT,
    });
    return await timedDelivery(sink, messages, started, load.accepted * recipientsPerRequest, load.ms);
  } finally {
    await herald.stop();
    await sink.stop();
    await dns?.close();
  }
}

/**
 * Accept → delivered at the sink, per message, at a steady open-loop arrival rate of one-recipient
 * requests. The sink reads each message's Message-ID (`<X-Message-Id>.0@host`, see
 * src/message/compose.ts) and notes when it arrived. This is an upper bound on accept → first
 * delivery attempt: it adds composing, the SMTP exchange and the sink's own reading.
 */
export async function measureLatency(size: number, ratePerSec: number, messages: number): Promise<LatencyResult> {
  const { sink, env } = await startRoute('relay', true);
  const herald = await startHeraldProcess(env, heraldNodeArgs());
  try {
    const acceptedAt = new Map<string, number>();
    await postMany(`${herald.url}/v3/mail/send`, herald.apiKey, (i) => mailBody(size, i, 1), messages, {
      concurrency: REQUESTS_IN_FLIGHT,
      ratePerSec,
      onAccepted: (requestId, at) => acceptedAt.set(requestId, at),
    });
    await untilArrived(sink, messages);
    const arrivals = await sink.arrivals();
    const latencies: number[] = [];
    for (const [messageId, at] of arrivals) {
      // Message-ID is `<requestId>.<n>@<hostname>`: the request id is what the 202 carried.
      const requestId = messageId.slice(0, messageId.indexOf('.'));
      const accepted = acceptedAt.get(requestId);
      if (accepted === undefined) throw new Error(`latency: the sink got ${messageId}, which no 202 announced`);
      latencies.push(at - accepted);
    }
    if (latencies.length !== messages) throw new Error(`latency: ${latencies.length} of ${messages} arrivals carried a Message-ID`);
    latencies.sort((a, b) => a - b);
    const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    return { ratePerSec, messages, medianMs: pick(0.5), p99Ms: pick(0.99), maxMs: latencies.at(-1)! };
  } finally {
    await herald.stop();
    await sink.stop();
  }
}

/** The PostgreSQL the cluster runs use (trust auth on this machine), each in a schema of its own. */
const BENCH_DATABASE_URL = process.env.HERALD_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * The same end-to-end run in cluster mode: PostgreSQL as the store, in a fresh schema, with one
 * Herald process (api and delivery) or two (the second delivery only), all relaying to one sink.
 */
export async function measureCluster(size: number, messages: number, recipientsPerRequest: number, deliveryProcesses: 1 | 2): Promise<EndToEndResult> {
  const pg = (await import('pg')).default;
  const schema = `herald_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await admin.connect();
  const { sink, env } = await startRoute('relay');
  const clusterEnv = { ...env, HERALD_BACKEND: 'postgres', HERALD_DATABASE_URL: BENCH_DATABASE_URL, HERALD_DATABASE_SCHEMA: schema };
  const processes: HeraldProcess[] = [];
  try {
    processes.push(await startHeraldProcess(clusterEnv, heraldNodeArgs()));
    if (deliveryProcesses === 2) processes.push(await startHeraldProcess({ ...clusterEnv, HERALD_ROLES: 'delivery' }, heraldNodeArgs(), { expectKey: false }));
    const api = processes[0]!;
    const requests = messages / recipientsPerRequest;
    const started = performance.now();
    const load = await postMany(`${api.url}/v3/mail/send`, api.apiKey, (i) => mailBody(size, i * recipientsPerRequest, recipientsPerRequest), requests, {
      concurrency: recipientsPerRequest === 1 ? REQUESTS_IN_FLIGHT : BATCHED_IN_FLIGHT,
    });
    return await timedDelivery(sink, messages, started, load.accepted * recipientsPerRequest, load.ms);
  } finally {
    for (const p of processes.reverse()) await p.stop();
    await sink.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
}
