import { writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { measureCeiling } from './ceiling.js';
import { measureEndToEnd } from './end-to-end.js';

/**
 * `npm run bench`: end-to-end throughput against the raw SMTP ceiling measured in the same run.
 * Runs alternate (ceiling, Herald, ceiling, Herald...) so drift on a shared machine hits both
 * alike; medians are reported. BENCH_RUNS sets the number of rounds (default 3).
 */
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CASES = [
  { label: '1 KB', size: 1024, messages: Number(process.env.BENCH_MESSAGES_1K ?? 5000) },
  { label: '50 KB', size: 50 * 1024, messages: Number(process.env.BENCH_MESSAGES_50K ?? 1500) },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface Row {
  label: string;
  messages: number;
  ceiling: number[];
  herald: number[];
  accept: number[];
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const c of CASES) {
    const row: Row = { label: c.label, messages: c.messages, ceiling: [], herald: [], accept: [] };
    for (let r = 0; r < RUNS; r++) {
      row.ceiling.push((await measureCeiling(c.size, c.messages)).msgPerSec);
      const e2e = await measureEndToEnd(c.size, c.messages);
      row.herald.push(e2e.msgPerSec);
      row.accept.push(e2e.acceptPerSec);
      console.log(`${c.label} round ${r + 1}/${RUNS}: ceiling ${fmt(row.ceiling.at(-1)!)} msg/s, herald ${fmt(e2e.msgPerSec)} msg/s (accept ${fmt(e2e.acceptPerSec)} req/s)`);
    }
    rows.push(row);
  }
  const table = [
    '| message | messages per run | raw pipelined SMTP ceiling (msg/s) | Herald HTTP → delivered (msg/s) | ratio | Herald accept only (req/s) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => {
      const ceiling = median(r.ceiling);
      const herald = median(r.herald);
      return `| ${r.label} | ${fmt(r.messages)} | ${fmt(ceiling)} (${fmt(Math.min(...r.ceiling))}–${fmt(Math.max(...r.ceiling))}) | ${fmt(herald)} (${fmt(Math.min(...r.herald))}–${fmt(Math.max(...r.herald))}) | ${(herald / ceiling).toFixed(2)} | ${fmt(median(r.accept))} |`;
    }),
  ].join('\n');
  console.log('\n' + table);
  const doc = `# Benchmark results

Command: \`npm run bench\` (BENCH_RUNS=${RUNS}), ${new Date().toISOString().slice(0, 10)}, Node ${process.version},
${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB.

- **Ceiling**: a minimal pipelined SMTP sender (\`bench/raw-smtp-sender.ts\`, 4 connections) into an
  \`smtp-server\` sink in its own process, timed until the sink has counted every message.
- **Herald**: \`herald start\` in its own process with the same sink as its relay (4 SMTP connections),
  driven over HTTP (64 requests in flight, keep-alive, one recipient per request) by the bench
  process; timed from the first request until the sink has counted every message. Each 202 means
  the message was fsynced to SQLite first.
- Rounds alternate ceiling and Herald; figures are medians with the range in brackets. Three
  processes share two cores in the Herald runs, two in the ceiling runs.

${table}
`;
  writeFileSync(new URL('../../bench/RESULTS.md', import.meta.url), doc);
  console.log('\nwritten to bench/RESULTS.md');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
