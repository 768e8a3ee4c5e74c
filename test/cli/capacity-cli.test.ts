import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { mailBody, startTestHerald, tempDataDir } from '../support/test-herald.js';
import type { CapacityReport } from '../../src/ops/capacity.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent' }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

test('herald capacity reads a live data directory with a growing backlog and forecasts it, as a table and as JSON', async (t) => {
  // No delivery role: what is accepted stays queued, and the queue only grows.
  const server = await startTestHerald({ roles: 'api', maxQueuedMessages: 100_000 });
  t.after(() => server.close());
  const send = (to: string) => server.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: to }] }] }) });
  for (let i = 0; i < 5; i++) assert.equal((await send(`old${i}@quiet.test`)).status, 202);
  // Traffic to busy.test for as long as the command samples.
  let sending = true;
  const sender = (async () => {
    let i = 0;
    while (sending) assert.equal((await send(`r${i++}@busy.test`)).status, 202);
  })();
  const dir = ['--data-dir', server.dataDir, '--max-queued-messages', '100000'];
  const [json, table] = await Promise.all([herald(['capacity', ...dir, '--interval', '2', '--json']), herald(['capacity', ...dir, '--interval', '2'])]);
  sending = false;
  await sender;

  assert.equal(json.code, 0, json.stderr);
  const r = JSON.parse(json.stdout) as CapacityReport;
  assert.equal(r.intervalS >= 2, true);
  const busy = r.destinations.find((d) => d.destination === 'busy.test')!;
  const quiet = r.destinations.find((d) => d.destination === 'quiet.test')!;
  assert.ok(busy.acceptedPerS > 0, 'accepts counted over the interval');
  assert.ok(busy.trendPerS > 0, 'its queue grows');
  assert.equal(busy.emptyInS, null);
  assert.ok(busy.oldestExpiresInS! > 71 * 3600, 'within messageMaxAgeMs (72 h)');
  assert.deepEqual([quiet.queued, quiet.acceptedPerS, quiet.trendPerS, quiet.emptyInS], [5, 0, 0, null]);
  assert.equal(r.queue.max, 100_000);
  assert.ok(r.queue.fullInS !== null && r.queue.fullInS > 0, 'the bound is ahead, at this trend');
  assert.ok(r.disk!.dataBytes > 0 && r.disk!.freeBytes > 0 && r.disk!.totalBytes >= r.disk!.freeBytes);
  assert.equal(r.eventsComplete, true);

  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^destination +queued +leased +oldest +accepted\/s +delivered\/s +trend\/s +forecast$/m);
  assert.match(table.stdout, /^busy\.test +\d+ +0 .* \+[\d.]+ +growing; oldest expires in \d+ [hd]$/m);
  assert.match(table.stdout, /^quiet\.test +5 +0 .* 0 +steady; oldest expires in \d+ [hd]$/m);
  assert.match(table.stdout, /^queue: \d+ of 100000 \(maxQueuedMessages\); .* growing \+[\d.]+\/s: at the bound in .+, then sends get 429$/m);
  assert.match(table.stdout, /^disk: .* free of /m);
});

test('herald capacity refuses bad input with exit 2, without a stack and without creating a data directory', async () => {
  const missing = join(tempDataDir(), 'nothing-here');
  const cases = [
    [['capacity', '--data-dir', missing], /no Herald data in .*nothing-here/],
    [['capacity', '--data-dir', missing, '--interval', '0'], /--interval must be a number of seconds from 1 to 300/],
    [['capacity', '--interval', 'soon'], /not "soon"/],
    [['capacity', '--interval', '301'], /from 1 to 300/],
    [['capacity', '--forecast-days', '3'], /Unknown option '--forecast-days'/],
    [['capacity', 'now', '--data-dir', missing], /capacity takes no argument "now"/],
  ] as const;
  const results = await Promise.all(cases.map(([args]) => herald([...args])));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });
  assert.equal(existsSync(missing), false);
});
