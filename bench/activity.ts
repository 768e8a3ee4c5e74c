import { Agent, request } from 'node:http';
import { startHeraldProcess } from './herald-process.js';
import { CATEGORIES, SEED_DAYS, SENDERS, recipientOf, seedActivity, type SeededActivity } from './activity-seed.js';

/**
 * The Email Activity and Stats APIs over a large embedded store: `GET /v3/messages` with a mix of
 * the queries SendGrid's docs show, `GET /v3/messages/{id}`, and the Stats API over 30 days, each
 * through `herald start`'s real HTTP port, one request at a time (latency, not throughput).
 */
export interface ActivityKindResult {
  kind: string;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ActivityResult {
  seeded: SeededActivity;
  kinds: ActivityKindResult[];
  all: { requests: number; p50Ms: number; p99Ms: number };
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

function get(agent: Agent, base: URL, apiKey: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: base.hostname, port: base.port, path, method: 'GET', headers: { authorization: `Bearer ${apiKey}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const date = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Mixed case, as a support agent pastes an address. */
function shout(address: string, n: number): string {
  return n % 3 === 0 ? address : n % 3 === 1 ? address.toUpperCase() : address[0]!.toUpperCase() + address.slice(1);
}

export async function measureActivity(events: number, rounds: number, log: (line: string) => void): Promise<ActivityResult> {
  const seedStarted = performance.now();
  const seeded = await seedActivity(events, log);
  if (!seeded.reused) log(`  seeded in ${((performance.now() - seedStarted) / 1000).toFixed(0)} s`);
  const herald = await startHeraldProcess({ HERALD_ROLES: 'api', HERALD_LOG_LEVEL: 'warn' }, [], { expectKey: false, dataDir: seeded.dataDir });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const base = new URL(herald.url);
  const times = new Map<string, number[]>();
  try {
    const call = async (kind: string, path: string) => {
      const started = performance.now();
      const res = await get(agent, base, seeded.apiKey, path);
      const ms = performance.now() - started;
      if (res.status !== 200 && !(res.status === 404 && kind === 'message detail')) throw new Error(`${kind}: HTTP ${res.status} for ${path}: ${res.body.slice(0, 300)}`);
      return { ms, body: res.body };
    };
    // Message ids to look up come from the API itself (recent ones) and from the data's shape.
    const recent = JSON.parse((await call('warm-up', '/v3/messages?limit=1000')).body) as { messages: { msg_id: string; to_email: string }[] };
    if (recent.messages.length === 0) throw new Error('the seeded store lists no messages');
    const end = seeded.endsAt;
    const start = end - SEED_DAYS * 86_400_000;
    let n = 0;
    const pick = <T>(xs: readonly T[]) => xs[n % xs.length]!;
    const someRecipient = () => recipientOf((n * 2654435761) % seeded.recipients);
    const someTime = () => start + ((n * 7_919_000_003) % (end - start));
    const q = (query: string, limit = 10) => `/v3/messages?limit=${limit}&query=${encodeURIComponent(query)}`;
    const mix: [string, () => string][] = [
      ['to_email = (any case)', () => q(`to_email="${shout(someRecipient(), n)}"`)],
      ['msg_id =', () => q(`msg_id="${pick(recent.messages).msg_id}"`)],
      ['to_email OR to_email, AND status', () => q(`(to_email="${someRecipient()}" OR to_email="${shout(someRecipient(), n + 1)}") AND status="delivered"`)],
      ['status AND last_event_time BETWEEN (1 day)', () => {
        const t = someTime();
        return q(`status="not_delivered" AND last_event_time BETWEEN TIMESTAMP "${iso(t)}" AND TIMESTAMP "${iso(t + 86_400_000)}"`);
      }],
      ['Contains(categories) AND BETWEEN (7 days)', () => {
        const t = someTime();
        return q(`Contains(categories,"${pick(CATEGORIES)}") AND last_event_time BETWEEN TIMESTAMP "${iso(t - 7 * 86_400_000)}" AND TIMESTAMP "${iso(t)}"`, 100);
      }],
      ['from_email = AND subject LIKE', () => q(`from_email="${pick(SENDERS)}" AND subject LIKE "%order%"`)],
      ['no query (latest)', () => '/v3/messages?limit=100'],
      ['message detail', () => `/v3/messages/${pick(recent.messages).msg_id}`],
      ['/v3/stats 30 days', () => `/v3/stats?start_date=${date(end - 29 * 86_400_000)}&end_date=${date(end)}`],
      ['/v3/stats 30 days by week', () => `/v3/stats?start_date=${date(end - 29 * 86_400_000)}&end_date=${date(end)}&aggregated_by=week`],
      ['/v3/categories/stats 30 days, 3 categories', () => `/v3/categories/stats?start_date=${date(end - 29 * 86_400_000)}&end_date=${date(end)}&categories=${pick(CATEGORIES)}&categories=promo&categories=receipt`],
      ['/v3/mailbox_providers/stats 30 days', () => `/v3/mailbox_providers/stats?start_date=${date(end - 29 * 86_400_000)}&end_date=${date(end)}`],
    ];
    // One untimed pass warms the page cache the way a server that has been up for a while has it.
    for (const [kind, path] of mix) await call(kind, path());
    for (let r = 0; r < rounds; r++) {
      for (const [kind, path] of mix) {
        n++;
        const { ms } = await call(kind, path());
        let list = times.get(kind);
        if (!list) times.set(kind, (list = []));
        list.push(ms);
      }
    }
  } finally {
    agent.destroy();
    await herald.stop();
  }
  const kinds = [...times].map(([kind, xs]) => ({ kind, requests: xs.length, p50Ms: quantile(xs, 0.5), p99Ms: quantile(xs, 0.99), maxMs: Math.max(...xs) }));
  const everything = [...times.values()].flat();
  return { seeded, kinds, all: { requests: everything.length, p50Ms: quantile(everything, 0.5), p99Ms: quantile(everything, 0.99) } };
}
