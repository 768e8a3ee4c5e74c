import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { expandRequest } from '../../src/message/expand.js';
import { parseMailSend } from '../../src/message/sendgrid-payload.js';
import { newEventId, type DeferredEvent } from '../../src/events/event.js';
import type { AcceptedRequest } from '../../src/message/mail-request.js';
import { mailBody, tempDataDir } from '../support/test-herald.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;
const MINUTE = 60_000;

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent' }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

function accepted(accountId: string, recipients: string[], now: number): AcceptedRequest {
  const body = mailBody({ personalizations: [{ to: recipients.map((email) => ({ email })) }] });
  return expandRequest(parseMailSend(body, now), { accountId, apiKeyId: null, nowMs: now, maxAgeMs: 72 * 60 * MINUTE });
}

const GREYLISTED = '451 4.7.1 Greylisted,\r\n please try again later';

/**
 * A data directory holding, as a running server would leave it:
 *   gmail.com:   a1 ready, a2 and a3 deferred an hour with a response, a4 leased to a worker;
 *   example.org: b1 and b2 ready.
 */
async function seed(backend: Backend): Promise<{ accountId: string; ids: Record<string, string> }> {
  const accountId = (await backend.accounts.createAccount('default')).id;
  const now = Date.now();
  const deferredOnes = accepted(accountId, ['a2@Gmail.com', 'a3@gmail.com'], now - 5 * MINUTE - 30_000);
  await backend.queue.enqueue(deferredOnes);
  const claimed = await backend.queue.claimFrom('test-worker', [{ destination: 'gmail.com', limit: 2 }], 10 * MINUTE);
  assert.equal(claimed.length, 2);
  for (const c of claimed) {
    const event: DeferredEvent = {
      type: 'deferred',
      id: newEventId(),
      accountId,
      messageId: c.message.id,
      email: c.message.recipient,
      timestamp: now,
      response: GREYLISTED,
      attempt: 1,
      nextAttemptAt: now + 90 * MINUTE,
      mxServer: 'mx.gmail.test',
    };
    assert.equal(await backend.queue.defer('test-worker', event), true);
  }
  const leased = accepted(accountId, ['a4@gmail.com'], now - 4 * MINUTE);
  await backend.queue.enqueue(leased);
  assert.equal((await backend.queue.claimFrom('test-worker', [{ destination: 'gmail.com', limit: 1 }], 10 * MINUTE)).length, 1);
  const ready = accepted(accountId, ['a1@gmail.com', 'b1@example.org', 'b2@example.org'], now - 90_000);
  await backend.queue.enqueue(ready);
  const [a2, a3] = deferredOnes.messages.map((m) => m.id);
  const [a1, b1, b2] = ready.messages.map((m) => m.id);
  return { accountId, ids: { a1: a1!, a2: a2!, a3: a3!, a4: leased.messages[0]!.id, b1: b1!, b2: b2! } };
}

test('herald queue stats, list, retry and purge work on the data directory beside an open store', async (t) => {
  const dataDir = tempDataDir();
  // The store stays open in this process, as a running server holds it; the CLI opens it shared.
  const backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir, logLevel: 'silent' } }));
  t.after(async () => {
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const { accountId, ids } = await seed(backend);
  const dir = ['--data-dir', dataDir];

  // stats: one row per destination, deepest first, and a total line.
  const stats = await herald(['queue', 'stats', ...dir]);
  assert.equal(stats.code, 0, stats.stderr);
  const lines = stats.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, /^destination +ready +scheduled +leased +oldest$/);
  assert.match(lines[1]!, /^gmail\.com +1 +2 +1 +5 min$/);
  assert.match(lines[2]!, /^example\.org +2 +0 +0 +1 min$/);
  assert.match(lines[3]!, /^total +3 +2 +1 +5 min$/);
  assert.equal(lines.length, 4, stats.stdout);
  // `herald queue` alone is stats.
  assert.equal((await herald(['queue', ...dir])).stdout, stats.stdout);

  const statsJson = await herald(['queue', 'stats', '--json', ...dir]);
  assert.equal(statsJson.code, 0, statsJson.stderr);
  const parsed = JSON.parse(statsJson.stdout) as {
    destinations: { destination: string; ready: number; scheduled: number; leased: number; total: number; oldestCreatedAt: string; oldestAgeSeconds: number }[];
    total: { ready: number; scheduled: number; leased: number; total: number; oldestAgeSeconds: number };
  };
  assert.deepEqual(
    parsed.destinations.map((d) => [d.destination, d.ready, d.scheduled, d.leased, d.total]),
    [
      ['gmail.com', 1, 2, 1, 4],
      ['example.org', 2, 0, 0, 2],
    ],
  );
  assert.deepEqual([parsed.total.ready, parsed.total.scheduled, parsed.total.leased, parsed.total.total], [3, 2, 1, 6]);
  assert.ok(parsed.total.oldestAgeSeconds >= 330, statsJson.stdout);
  assert.ok(!Number.isNaN(Date.parse(parsed.destinations[0]!.oldestCreatedAt)));

  // list: every queued message oldest first, or one destination's, however it is spelled.
  const all = await herald(['queue', 'list', ...dir]);
  assert.equal(all.code, 0, all.stderr);
  const allLines = all.stdout.trimEnd().split('\n');
  assert.match(allLines[0]!, /^id +recipient +state +attempts +next attempt +last response$/);
  assert.deepEqual(
    allLines.slice(1).map((l) => l.split(/\s+/)[0]),
    [ids.a2, ids.a3, ids.a4, ids.a1, ids.b1, ids.b2],
  );

  const gmail = await herald(['queue', 'list', '--destination', 'Gmail.COM', ...dir]);
  assert.equal(gmail.code, 0, gmail.stderr);
  const gmailLines = gmail.stdout.trimEnd().split('\n').slice(1);
  assert.equal(gmailLines.length, 4, gmail.stdout);
  assert.doesNotMatch(gmail.stdout, /example\.org/);
  const row = (id: string, text: string) => text.split('\n').find((l) => l.startsWith(id + ' ')) ?? assert.fail(`no row for ${id} in:\n${text}`);
  // The multi-line response shows on its one line.
  assert.match(row(ids.a2!, gmail.stdout), /a2@gmail\.com +scheduled +1 +in (\d+ min|1 h) +451 4\.7\.1 Greylisted, please try again later$/i);
  assert.match(row(ids.a4!, gmail.stdout), /a4@gmail\.com +leased +0 +in progress +-$/);
  assert.match(row(ids.a1!, gmail.stdout), /a1@gmail\.com +ready +0 +now +-$/);

  const limited = await herald(['queue', 'list', '--limit', '2', ...dir]);
  assert.equal(limited.code, 0, limited.stderr);
  assert.equal(limited.stdout.trimEnd().split('\n').length, 3, limited.stdout);
  assert.match(limited.stderr, /oldest 2; more may be queued/);

  const listJson = await herald(['queue', 'list', '--destination', 'example.org', '--json', ...dir]);
  assert.equal(listJson.code, 0, listJson.stderr);
  const entries = JSON.parse(listJson.stdout) as { messageId: string; recipient: string; destination: string; state: string; accountId: string }[];
  assert.deepEqual(entries.map((e) => [e.messageId, e.recipient, e.destination, e.state, e.accountId]), [
    [ids.b1, 'b1@example.org', 'example.org', 'ready', accountId],
    [ids.b2, 'b2@example.org', 'example.org', 'ready', accountId],
  ]);

  const none = await herald(['queue', 'list', '--destination', 'nowhere.test', ...dir]);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /no queued messages for nowhere\.test/);

  // retry: the deferred gmail.com messages become ready now; the leased one is left to its worker.
  const retry = await herald(['queue', 'retry', '--destination', 'GMAIL.com', ...dir]);
  assert.equal(retry.code, 0, retry.stderr);
  assert.match(retry.stdout, /^2 messages for gmail\.com ready now$/m);
  const afterRetry = await backend.queue.list({ destination: 'gmail.com', limit: 10 });
  assert.deepEqual(afterRetry.map((e) => [e.messageId, e.state]), [
    [ids.a2, 'ready'],
    [ids.a3, 'ready'],
    [ids.a4, 'leased'],
    [ids.a1, 'ready'],
  ]);
  const retryAgain = await herald(['queue', 'retry', '--destination', 'gmail.com', ...dir]);
  assert.equal(retryAgain.code, 0, retryAgain.stderr);
  assert.match(retryAgain.stdout, /nothing to retry/);

  // purge without --yes refuses, says how many would go, and drops nothing.
  const refused = await herald(['queue', 'purge', '--destination', 'gmail.com', ...dir]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /would drop 3 messages queued for gmail\.com/);
  assert.match(refused.stderr, /--yes/);
  assert.equal((await backend.queue.list({ destination: 'gmail.com', limit: 10 })).length, 4);

  // With --yes it drops the waiting ones, each with a dropped event; the leased one and example.org stay.
  const purged = await herald(['queue', 'purge', '--destination', 'gmail.com', '--yes', ...dir]);
  assert.equal(purged.code, 0, purged.stderr);
  assert.match(purged.stdout, /^dropped 3 messages queued for gmail\.com; 1 message being delivered now finishes its attempt$/m);
  assert.deepEqual((await backend.queue.list({ limit: 10 })).map((e) => e.messageId), [ids.a4, ids.b1, ids.b2]);
  const detail = await backend.activity.getMessage(accountId, ids.a1!);
  const dropped = detail?.events.find((e) => e.type === 'dropped');
  assert.ok(dropped && dropped.type === 'dropped', JSON.stringify(detail?.events));
  assert.equal(dropped.reason, 'Purged from the queue by an operator');

  const after = await herald(['queue', 'stats', ...dir]);
  assert.match(after.stdout, /^gmail\.com +0 +0 +1 /m);
  assert.match(after.stdout, /^example\.org +2 +0 +0 /m);
  const nothing = await herald(['queue', 'purge', '--destination', 'gmail.com', ...dir]);
  assert.equal(nothing.code, 0, nothing.stderr);
  assert.match(nothing.stdout, /nothing to purge/);
});

test('herald queue on an empty data directory says the queue is empty', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const stats = await herald(['queue', 'stats', '--data-dir', dataDir]);
  assert.equal(stats.code, 0, stats.stderr);
  assert.equal(stats.stdout.trim(), 'the queue is empty');
  const json = await herald(['queue', 'stats', '--json', '--data-dir', dataDir]);
  assert.deepEqual(JSON.parse(json.stdout), {
    destinations: [],
    total: { ready: 0, scheduled: 0, leased: 0, total: 0, oldestCreatedAt: null, oldestAgeSeconds: null },
  });
  const list = await herald(['queue', 'list', '--data-dir', dataDir]);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout.trim(), 'the queue is empty');
});

test('herald queue refuses bad arguments with exit 2 and a clear message, before touching the data directory', async (t) => {
  const parent = tempDataDir();
  t.after(() => rmSync(parent, { recursive: true, force: true }));
  const never = join(parent, 'never-created');
  const dir = ['--data-dir', never];
  const cases: [string[], RegExp][] = [
    [['queue', 'retry'], /retry needs --destination/],
    [['queue', 'purge', '--yes'], /purge needs --destination/],
    [['queue', 'frobnicate'], /unknown subcommand "frobnicate"[\s\S]*herald queue purge --destination D/],
    [['queue', 'list', '--limit', 'abc'], /--limit must be a whole number from 1 to 10000, not "abc"/],
    [['queue', 'list', '--limit', '0'], /--limit must be a whole number/],
    [['queue', 'list', '--limit', '10001'], /--limit must be a whole number/],
    [['queue', 'list', '--limit', '2.5'], /--limit must be a whole number/],
    [['queue', 'list', '--destination', ''], /is not a domain name/],
    [['queue', 'retry', '--destination', 'bob@gmail.com'], /is not a domain name/],
    [['queue', 'list', 'gmail.com'], /takes no argument "gmail\.com"/],
  ];
  const runs = await Promise.all(cases.map(([args]) => herald([...args, ...dir])));
  for (const [i, [args, message]] of cases.entries()) {
    const run = runs[i]!;
    assert.equal(run.code, 2, `${args.join(' ')}: ${run.stdout}${run.stderr}`);
    assert.match(run.stderr, message, args.join(' '));
    assert.doesNotMatch(run.stderr, STACK_FRAME);
  }
  assert.equal(existsSync(never), false, 'no data directory is made for a refused command');
});
