import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { loadConfig } from '../../src/config/load.js';
import { eventually, mailBody, startTestHerald, type TestHerald } from '../support/test-herald.js';

// Live configuration through the NATS JetStream on this machine (127.0.0.1:4222): a change written
// once reaches every running process, which reports the revision it runs in /healthz.

const run = promisify(execFile);
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const NATS = process.env.HERALD_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const bucket = `herald_test_${randomBytes(4).toString('hex')}`;
const heralds: TestHerald[] = [];

after(async () => {
  for (const h of heralds) await h.close();
  const nc = await connect({ servers: NATS });
  await new Kvm(nc).open(bucket).then((kv) => kv.destroy()).catch(() => {});
  await nc.close();
});

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, HERALD_NATS_URL: NATS, HERALD_NATS_CONFIG_BUCKET: bucket, HERALD_LOG_LEVEL: 'silent' };
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'config', ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function versionOf(h: TestHerald): Promise<number> {
  return ((await (await fetch(`${h.url}/healthz`)).json()) as { configVersion: number }).configVersion;
}

test('a destination limit set once is adopted by every running process, and unset falls back', async () => {
  for (let i = 0; i < 2; i++) heralds.push(await startTestHerald({ natsUrl: NATS, natsConfigBucket: bucket }));
  const [a, b] = heralds as [TestHerald, TestHerald];
  assert.equal(await versionOf(a), 0);
  assert.equal(a.shaper.shapeOf('slow.test').messagesPerSecond, 0);

  // Both processes are delivering while the change is made.
  let sending = true;
  const traffic = [a, b].map(async (h) => {
    let sent = 0;
    while (sending) {
      const res = await h.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: [{ email: `r${sent}@slow.test` }] }] }) });
      assert.equal(res.status, 202);
      sent++;
    }
    return sent;
  });
  await eventually(async () => (await a.backend.inbox.list((await a.backend.accounts.findAccountByName('default'))!.id, { limit: 1 })).length > 0, 10_000, 'deliveries under way');

  const set = await cli('set', 'destinationOverrides', '{"slow.test": {"messagesPerSecond": 3, "maxConnections": 2}}');
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /destinationOverrides set \(revision \d+\)/);
  const version = await eventually(async () => {
    const [va, vb] = [await versionOf(a), await versionOf(b)];
    return va > 0 && va === vb ? va : null;
  }, 10_000, 'both processes to apply the change');
  for (const h of [a, b]) {
    assert.equal(h.shaper.shapeOf('slow.test').messagesPerSecond, 3);
    assert.equal(h.shaper.shapeOf('slow.test').maxConnections, 2);
  }
  sending = false;
  const sent = await Promise.all(traffic);
  assert.ok(sent.every((n) => n > 0));

  // A value that fails its check is refused by the CLI, and nothing changes.
  const bad = await cli('set', 'destinationOverrides', '{"slow.test": {"messagesPerSecond": -1}}');
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /destinationOverrides/);
  // Settings read only at start cannot be set live.
  const notLive = await cli('set', 'port', '4000');
  assert.notEqual(notLive.code, 0);
  assert.match(notLive.stderr, /cannot change while Herald runs/);

  // Written around the CLI, a bad value is ignored by the processes; the last good one stays.
  const nc = await connect({ servers: NATS });
  const kv = await new Kvm(nc).open(bucket);
  await kv.put('destinationMessagesPerSecond', '"fast"');
  await kv.put('logLevel', '"warn"');
  await nc.close();
  await eventually(async () => (await versionOf(a)) > version && (await versionOf(b)) === (await versionOf(a)), 10_000, 'the next good change');
  assert.equal(a.log.level, 'warn');
  assert.equal(a.shaper.shapeOf('other.test').messagesPerSecond, 0, 'the bad value was ignored');

  const got = await cli('get');
  assert.match(got.stdout, /destinationOverrides = \{"slow.test":\{"messagesPerSecond":3,"maxConnections":2\}\}/);

  assert.equal((await cli('unset', 'destinationOverrides')).code, 0);
  await eventually(async () => a.shaper.shapeOf('slow.test').messagesPerSecond === 0 && b.shaper.shapeOf('slow.test').messagesPerSecond === 0, 10_000, 'the unset to reach both');
  assert.equal(b.shaper.shapeOf('gmail.com').maxConnections, 20, 'and the start-up overrides (the shipped provider limits) are back');
});

test('a process started after a change starts with it', async () => {
  assert.equal((await cli('set', 'destinationMessagesPerSecond', '25')).code, 0);
  const late = await startTestHerald({ natsUrl: NATS, natsConfigBucket: bucket });
  heralds.push(late);
  assert.equal(late.shaper.shapeOf('any.test').messagesPerSecond, 25);
  assert.ok((await versionOf(late)) > 0);
});

test('herald config refuses malformed, oversized and unreachable input with a message and a non-zero exit', async () => {
  const missing = await cli('set', 'destinationOverrides');
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /KEY and VALUE are needed/);
  const unknown = await cli('frobnicate');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Live settings: destinationOverrides/);
  assert.equal((await cli('unset')).code, 2);

  const hostile = await cli('set', 'destinationOverrides', '{"__proto__": {"maxConnections": 1}}');
  assert.notEqual(hostile.code, 0);
  assert.doesNotMatch(hostile.stderr, /\n\s+at /, 'a message, not a stack trace');
  const notAMap = await cli('set', 'mxOverrides', '["127.0.0.1"]');
  assert.notEqual(notAMap.code, 0);
  assert.match(notAMap.stderr, /mxOverrides .* must be a JSON object/);

  // Too big for one command-line argument anyway; the same check guards the file, the
  // environment and the CLI.
  const huge = JSON.stringify(Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`d${i}.example`, { maxConnections: 1 }])));
  assert.throws(() => loadConfig({ env: { HERALD_DESTINATION_OVERRIDES: huge } }), /destinationOverrides from HERALD_DESTINATION_OVERRIDES must be at most 10000 domains/);

  const env = { ...process.env, HERALD_NATS_URL: 'nats://127.0.0.1:1', HERALD_NATS_CONFIG_BUCKET: bucket, HERALD_LOG_LEVEL: 'silent' };
  const down = await run(process.execPath, [MAIN, 'config', 'get'], { env }).then(
    () => ({ code: 0, stderr: '' }),
    (e: { code: number; stderr: string }) => e,
  );
  assert.equal(down.code, 1);
  assert.match(down.stderr, /^herald: .*refused/m);
});
