import os from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { CEILING_CONNECTIONS, HERALD_RELAY_CONNECTIONS, PINNED_CONNECTIONS, measureCeiling } from './ceiling.js';
import { measureCluster, measureEndToEnd, measureLatency } from './end-to-end.js';
import { measureActivity } from './activity.js';

/**
 * `npm run bench`: end-to-end throughput against the raw SMTP ceiling measured in the same run.
 * Runs alternate (ceiling, Herald one recipient per request, Herald batched, ceiling, ...) so
 * drift on a shared machine hits all alike; medians are reported. Then, per message size, one
 * latency run at a steady arrival rate of half the one-recipient peak measured just before.
 *
 * Environment: BENCH_RUNS rounds (default 3); BENCH_BATCH personalizations per batched request
 * (default 100); BENCH_LATENCY_SECONDS length of a latency run (default 10; 0 skips them);
 * BENCH_CASES comma-separated labels to run (e.g. "1 KB"); BENCH_MESSAGES_1K / _50K messages per
 * run; BENCH_CPU_PROF=<dir> CPU-profiles every Herald child into dir; BENCH_NO_WRITE=1 leaves
 * bench/RESULTS.md alone (for profiling and partial runs); BENCH_MX=0 skips the direct MX runs; BENCH_CLUSTER=0 the cluster (PostgreSQL) runs.
 * BENCH_ACTIVITY=0 skips the Email Activity and Stats case, BENCH_ACTIVITY=only runs it alone (its
 * section of RESULTS.md is replaced, the rest kept); BENCH_ACTIVITY_EVENTS events to seed (default
 * 10,000,000; the seeded directory is kept in the OS temp folder, keyed by the count, and reused);
 * BENCH_ACTIVITY_ROUNDS passes over the query mix (default 200).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 10);
const MX = process.env.BENCH_MX !== '0';
const CLUSTER = process.env.BENCH_CLUSTER !== '0';
const ACTIVITY = process.env.BENCH_ACTIVITY ?? '1';
/** Messages in the long runs (1 KB, batched; 0 skips them): long enough that warm-up is a small part. */
const LONG_MESSAGES = Number(process.env.BENCH_LONG_MESSAGES ?? 20_000);
const ACTIVITY_EVENTS = Number(process.env.BENCH_ACTIVITY_EVENTS ?? 10_000_000);
const ACTIVITY_ROUNDS = Number(process.env.BENCH_ACTIVITY_ROUNDS ?? 200);
const RESULTS = new URL('../../bench/RESULTS.md', import.meta.url);
/** The activity case's section of RESULTS.md runs from this heading to the end of the file. */
const ACTIVITY_HEADING = '## Email Activity search and stats';
const ONLY = process.env.BENCH_CASES?.split(',').map((s) => s.trim());
const CASES = [
  { label: '1 KB', size: 1024, messages: Number(process.env.BENCH_MESSAGES_1K ?? 5000) },
  { label: '50 KB', size: 50 * 1024, messages: Number(process.env.BENCH_MESSAGES_50K ?? 1500) },
].filter((c) => !ONLY || ONLY.includes(c.label));

/** "4 connections 6,845, 8 connections 6,432": one ceiling measurement's figures. */
const ceilingBy = (xs: readonly number[]) => xs.map((x, i) => `${CEILING_CONNECTIONS[i]} connections ${fmt(x)}`).join(', ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const spread = (xs: number[]) => `${fmt(median(xs))} (${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))})`;
/** Each run's figure over the ceiling of its own round, so drift between rounds cancels. */
const ratios = (xs: number[], ceilings: number[]) => xs.map((x, i) => x / ceilings[i]!);

interface Row {
  label: string;
  messages: number;
  ceiling: number[];
  single: number[];
  singleAccept: number[];
  batched: number[];
  batchedAccept: number[];
  /** Direct MX to four loopback domains: one recipient per request, and batched. */
  mxSingle: number[];
  mxBatched: number[];
  /** Cluster mode (PostgreSQL), batched: one process, and two delivery processes. */
  cluster1: number[];
  cluster2: number[];
  /** The raw sender at each of CEILING_CONNECTIONS; `ceiling` is the best of each round's. */
  ceilingBy: number[][];
  /** Batched relay runs with Herald's pool pinned to the raw sender's PINNED_CONNECTIONS. */
  pinned: number[];
  latency?: { ratePerSec: number; messages: number; medianMs: number; p99Ms: number; maxMs: number };
}

async function main(): Promise<void> {
  if (ACTIVITY !== 'only') await deliveryRuns();
  if (ACTIVITY !== '0') await activityRun();
}

/** The activity section of the current RESULTS.md, to keep when the rest is rewritten. */
function activitySection(): string {
  const doc = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
  const at = doc.indexOf(ACTIVITY_HEADING);
  return at < 0 ? '' : doc.slice(at);
}

async function activityRun(): Promise<void> {
  console.log(`Email Activity and Stats: ${fmt(ACTIVITY_EVENTS)} events`);
  const result = await measureActivity(ACTIVITY_EVENTS, ACTIVITY_ROUNDS, (line) => console.log(line));
  const s = result.seeded;
  const table = [
    '| request | requests | p50 (ms) | p99 (ms) | max (ms) |',
    '| --- | --- | --- | --- | --- |',
    ...result.kinds.map((k) => `| ${k.kind} | ${fmt(k.requests)} | ${k.p50Ms.toFixed(1)} | ${k.p99Ms.toFixed(1)} | ${k.maxMs.toFixed(1)} |`),
    `| **all** | ${fmt(result.all.requests)} | ${result.all.p50Ms.toFixed(1)} | ${result.all.p99Ms.toFixed(1)} | |`,
  ].join('\n');
  console.log(`\n${table}`);
  const section = `${ACTIVITY_HEADING}

Command: \`BENCH_ACTIVITY=only BENCH_ACTIVITY_EVENTS=${ACTIVITY_EVENTS} BENCH_ACTIVITY_ROUNDS=${ACTIVITY_ROUNDS} npm run bench\`,
${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), load average
${(os.loadavg()[0] ?? 0).toFixed(1)} when the requests began. Seeding is timed once, when the store is first made (here while the machine was
shared with other work), and reused after.

- **Store**: an embedded (SQLite) data directory seeded with ${fmt(s.events)} events of ${fmt(s.messages)} messages to
  ${fmt(s.recipients)} recipients over 45 days, 90% of them in the account queried (\`bench/activity-seed.ts\`:
  outcomes 93% delivered, 3% bounced, 3% dropped, 1% deferred; half the delivered opened, a fifth clicked).
  Seeding: rows at ${fmt(s.events / s.insertSeconds)} events/s (${s.insertSeconds.toFixed(0)} s, prepared statements,
  20,000 messages per transaction, secondary indexes dropped), indexes rebuilt in ${s.indexSeconds.toFixed(0)} s, stats projected
  from the log by the stats projector at ${fmt(s.events / s.projectSeconds)} events/s (${s.projectSeconds.toFixed(0)} s).
  The directory is kept in the OS temp folder, keyed by the event count, and reused by later runs.
- **Requests**: \`herald start\` (role api) on that directory, driven over HTTP keep-alive on a real port, one
  request at a time, ${ACTIVITY_ROUNDS} rounds of the mix below after one untimed warm-up round. Addresses are
  given in mixed case (\`to_email\` matches without regard to case); \`limit\` is 10 unless the row says otherwise
  (Contains(categories) and no query: 100).

${table}
`;
  if (process.env.BENCH_NO_WRITE) return;
  const doc = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const at = doc.indexOf(ACTIVITY_HEADING);
  writeFileSync(RESULTS, `${(at < 0 ? doc : doc.slice(0, at)).trimEnd()}\n\n${section}`);
  console.log('\nactivity section written to bench/RESULTS.md');
}

async function deliveryRuns(): Promise<void> {
  const rows: Row[] = [];
  for (const c of CASES) {
    // Batched runs need whole requests: round the message count down to a multiple of the batch.
    const batchedMessages = Math.max(BATCH, Math.floor(c.messages / BATCH) * BATCH);
    const row: Row = { label: c.label, messages: c.messages, ceiling: [], single: [], singleAccept: [], batched: [], batchedAccept: [], mxSingle: [], mxBatched: [], cluster1: [], cluster2: [], ceilingBy: [], pinned: [] };
    for (let r = 0; r < RUNS; r++) {
      const ceiling = await measureCeiling(c.size, c.messages);
      row.ceiling.push(ceiling.msgPerSec);
      row.ceilingBy.push(ceiling.byConnections);
      const single = await measureEndToEnd(c.size, c.messages, 1);
      row.single.push(single.msgPerSec);
      row.singleAccept.push(single.acceptPerSec);
      const batched = await measureEndToEnd(c.size, batchedMessages, BATCH);
      row.batched.push(batched.msgPerSec);
      row.batchedAccept.push(batched.acceptPerSec);
      row.pinned.push((await measureEndToEnd(c.size, batchedMessages, BATCH, 'relay-pinned')).msgPerSec);
      let mx = '';
      if (MX) {
        row.mxSingle.push((await measureEndToEnd(c.size, c.messages, 1, 'mx')).msgPerSec);
        row.mxBatched.push((await measureEndToEnd(c.size, batchedMessages, BATCH, 'mx')).msgPerSec);
        mx = `; direct MX 1/request ${fmt(row.mxSingle.at(-1)!)} msg/s, ${BATCH}/request ${fmt(row.mxBatched.at(-1)!)} msg/s`;
      }
      let cluster = '';
      if (CLUSTER) {
        row.cluster1.push((await measureCluster(c.size, batchedMessages, BATCH, 1)).msgPerSec);
        row.cluster2.push((await measureCluster(c.size, batchedMessages, BATCH, 2)).msgPerSec);
        cluster = `; cluster (PostgreSQL) ${BATCH}/request, 1 process ${fmt(row.cluster1.at(-1)!)} msg/s, 2 delivery processes ${fmt(row.cluster2.at(-1)!)} msg/s`;
      }
      console.log(`${c.label} round ${r + 1}/${RUNS}: ceiling ${fmt(row.ceiling.at(-1)!)} msg/s (${ceilingBy(ceiling.byConnections)}), herald 1/request ${fmt(single.msgPerSec)} msg/s (accept ${fmt(single.acceptPerSec)}), ${BATCH}/request ${fmt(batched.msgPerSec)} msg/s (accept ${fmt(batched.acceptPerSec)}), ${BATCH}/request over ${PINNED_CONNECTIONS} connections ${fmt(row.pinned.at(-1)!)} msg/s${mx}${cluster}`);
    }
    if (LATENCY_SECONDS > 0) {
      const rate = Math.max(1, Math.round(median(row.single) / 2));
      row.latency = await measureLatency(c.size, rate, Math.max(100, Math.round(rate * LATENCY_SECONDS)));
      console.log(`${c.label} latency at ${fmt(rate)} msg/s: median ${row.latency.medianMs.toFixed(1)} ms, p99 ${row.latency.p99Ms.toFixed(1)} ms, max ${row.latency.maxMs.toFixed(1)} ms`);
    }
    rows.push(row);
  }
  // The same 1 KB batched runs, four times as long: the short runs above are a second or so, and a
  // cold process (JIT, first connections, the sink's greeting delay) is a fair part of that.
  const long = { ceiling: [] as number[], relay: [] as number[], pinned: [] as number[], mx: [] as number[], whileAccepting: [] as number[], afterAccepting: [] as number[] };
  const longMessages = Math.floor(LONG_MESSAGES / BATCH) * BATCH;
  if (longMessages > 0 && (!ONLY || ONLY.includes('1 KB'))) {
    for (let r = 0; r < RUNS; r++) {
      const ceiling = await measureCeiling(1024, longMessages);
      long.ceiling.push(ceiling.msgPerSec);
      const relay = await measureEndToEnd(1024, longMessages, BATCH);
      long.pinned.push((await measureEndToEnd(1024, longMessages, BATCH, 'relay-pinned')).msgPerSec);
      long.relay.push(relay.msgPerSec);
      long.whileAccepting.push(relay.deliveryWhileAcceptingPerSec);
      long.afterAccepting.push(relay.deliveryAfterAcceptingPerSec);
      if (MX) long.mx.push((await measureEndToEnd(1024, longMessages, BATCH, 'mx')).msgPerSec);
      console.log(`1 KB long run ${r + 1}/${RUNS} (${fmt(longMessages)} messages): ceiling ${fmt(long.ceiling.at(-1)!)} msg/s (${ceilingBy(ceiling.byConnections)}), herald ${BATCH}/request ${fmt(long.relay.at(-1)!)} msg/s, over ${PINNED_CONNECTIONS} connections ${fmt(long.pinned.at(-1)!)} msg/s (delivering ${fmt(relay.deliveryWhileAcceptingPerSec)} msg/s while accepting, ${fmt(relay.deliveryAfterAcceptingPerSec)} after)${MX ? `, direct MX ${fmt(long.mx.at(-1)!)} msg/s` : ''}`);
    }
  }
  const longTable = long.ceiling.length === 0 ? '(not measured in this run)' : [
    `| message | messages | raw pipelined SMTP ceiling (msg/s) | Herald, ${BATCH} per request (msg/s) | ratio | relay delivery while accepting / after the last 202 (msg/s) | relay over ${PINNED_CONNECTIONS} connections (msg/s) | ratio | direct MX, ${BATCH} per request (msg/s) | ratio |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    `| 1 KB | ${fmt(longMessages)} | ${spread(long.ceiling)} | ${spread(long.relay)} | ${median(ratios(long.relay, long.ceiling)).toFixed(2)} | ${fmt(median(long.whileAccepting))} / ${fmt(median(long.afterAccepting))} | ${spread(long.pinned)} | ${median(ratios(long.pinned, long.ceiling)).toFixed(2)} | ${long.mx.length ? spread(long.mx) : '–'} | ${long.mx.length ? median(ratios(long.mx, long.ceiling)).toFixed(2) : '–'} |`,
  ].join('\n');
  const throughput = [
    `| message | raw pipelined SMTP ceiling (msg/s) | Herald, 1 recipient per request (msg/s) | ratio | Herald, ${BATCH} personalizations per request (msg/s) | ratio | the same over ${PINNED_CONNECTIONS} connections (msg/s) | ratio | accept only, 1 / ${BATCH} per request (msg/s) |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) =>
      `| ${r.label} | ${spread(r.ceiling)} | ${spread(r.single)} | ${median(ratios(r.single, r.ceiling)).toFixed(2)} | ${spread(r.batched)} | ${median(ratios(r.batched, r.ceiling)).toFixed(2)} | ${spread(r.pinned)} | ${median(ratios(r.pinned, r.ceiling)).toFixed(2)} | ${fmt(median(r.singleAccept))} / ${fmt(median(r.batchedAccept))} |`),
  ].join('\n');
  const withMx = rows.filter((r) => r.mxSingle.length > 0);
  const mxTable = withMx.length === 0 ? '(not measured in this run)' : [
    `| message | raw pipelined SMTP ceiling (msg/s) | direct MX, 1 recipient per request (msg/s) | ratio | direct MX, ${BATCH} personalizations per request (msg/s) | ratio |`,
    '| --- | --- | --- | --- | --- | --- |',
    ...withMx.map((r) =>
      `| ${r.label} | ${spread(r.ceiling)} | ${spread(r.mxSingle)} | ${median(ratios(r.mxSingle, r.ceiling)).toFixed(2)} | ${spread(r.mxBatched)} | ${median(ratios(r.mxBatched, r.ceiling)).toFixed(2)} |`),
  ].join('\n');
  const withCluster = rows.filter((r) => r.cluster1.length > 0);
  const clusterTable = withCluster.length === 0 ? '(not measured in this run)' : [
    `| message | embedded (SQLite), ${BATCH} per request (msg/s) | cluster, 1 process (msg/s) | cluster ÷ embedded | cluster, 2 delivery processes (msg/s) | 2 ÷ 1 processes | 2 processes ÷ ceiling |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...withCluster.map((r) =>
      `| ${r.label} | ${spread(r.batched)} | ${spread(r.cluster1)} | ${median(ratios(r.cluster1, r.batched)).toFixed(2)} | ${spread(r.cluster2)} | ${median(ratios(r.cluster2, r.cluster1)).toFixed(2)} | ${median(ratios(r.cluster2, r.ceiling)).toFixed(2)} |`),
  ].join('\n');
  const withLatency = rows.filter((r) => r.latency);
  const latency = withLatency.length === 0 ? '(not measured in this run)' : [
    '| message | offered load (msg/s, one recipient per request) | messages | median (ms) | p99 (ms) | max (ms) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...withLatency.map((r) => {
      const l = r.latency!;
      return `| ${r.label} | ${fmt(l.ratePerSec)} | ${fmt(l.messages)} | ${l.medianMs.toFixed(1)} | ${l.p99Ms.toFixed(1)} | ${l.maxMs.toFixed(1)} |`;
    }),
  ].join('\n');
  console.log(`\n${throughput}\n\n${mxTable}\n\n${longTable}\n\n${clusterTable}\n\n${latency}`);
  const doc = `# Benchmark results

Command: \`npm run bench\` (BENCH_RUNS=${RUNS}, BENCH_BATCH=${BATCH}), ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB.

- **Ceiling**: a minimal pipelined SMTP sender (\`bench/raw-smtp-sender.ts\`) into an \`smtp-server\`
  sink in its own process, timed until the sink has counted every message; measured over
  ${CEILING_CONNECTIONS.join(' and ')} connections, each into a fresh sink, and the better of the two
  is the round's ceiling (medians: ${rows.map((r) => `${r.label} ${CEILING_CONNECTIONS.map((n, i) => `${fmt(median(r.ceilingBy.map((b) => b[i]!)))} over ${n}`).join(', ')}`).join('; ')}).
- **Herald**: \`herald start\` in its own process, at its defaults, with the same sink as its relay
  (\`smtpPoolSize\`: ${HERALD_RELAY_CONNECTIONS} SMTP connections; a second batched run pins it to the raw sender's
  ${PINNED_CONNECTIONS}), driven over HTTP (keep-alive) by the bench process; timed from the first
  request until the sink has counted every message. Each 202 means the messages were fsynced to
  SQLite first.
  - *1 recipient per request*: ${fmt(CASES[0]?.messages ?? 0)} (1 KB) / ${fmt(CASES[1]?.messages ?? 0)} (50 KB) requests, 64 in flight.
  - *${BATCH} personalizations per request*: the same number of messages (rounded down to whole
    requests) as a bulk sender would post them, 4 requests in flight; every personalization is its
    own message and its own SMTP transaction.
- Rounds alternate ceiling and Herald; figures are medians with the range in brackets; a ratio is
  the median of each run's figure over the ceiling of its own round. Three processes share two
  cores in the Herald runs, two in the ceiling runs.

${throughput}

**Direct MX** (\`deliveryTransport: mx\`): the same runs, but recipients spread over four domains
(\`bench0.example\` … \`bench3.example\`) whose MX records, served by a DNS server in the bench
process, name one loopback address each (127.0.0.2 … 127.0.0.5); one sink process listens on all
four on one port (\`smtpPort\`). Connections per domain are Herald's default
(\`destinationMaxConnections\`, 10; at most four times that many messages per domain in progress).
Ratios are over the same round's ceiling.

${mxTable}

**Long runs** (BENCH_LONG_MESSAGES, 0 skips them): the 1 KB batched runs, relay and direct MX, with
${fmt(longMessages)} messages. A short run lasts about a second, and a process just started (code not
yet optimised, connections opening behind the sink's 100 ms greeting delay) is a fair part of it,
for the ceiling as for Herald; over a longer run the ceiling gains more than Herald does. The
relay runs also say how fast messages reached the sink while requests were still being accepted
(from the first request to the last 202) and after it: one event loop does both.

${longTable}

**Cluster mode** (\`backend: postgres\` on this machine's PostgreSQL 15, a fresh schema per run;
BENCH_CLUSTER=0 skips it): the batched runs again, with one Herald process (api and delivery), and
with a second process of role delivery sharing the queue. Every process, the sink, the load
generator and PostgreSQL share the same two cores, so two delivery processes compete with
everything else for the second core.

${clusterTable}

**Latency, accept → delivered at the sink** (an upper bound on accept → first delivery attempt: it
also counts composing, the SMTP exchange and the sink reading the message). One-recipient requests
at a steady open-loop rate of half the median one-recipient throughput above, for
${LATENCY_SECONDS} s; per message, from the client reading the 202 to the sink reading the final
dot, matched by Message-ID.

${latency}
`;
  if (process.env.BENCH_NO_WRITE) return;
  const kept = activitySection();
  writeFileSync(RESULTS, kept ? `${doc}\n${kept}` : doc);
  console.log('\nwritten to bench/RESULTS.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
