import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mailBody, startTestHerald } from '../support/test-herald.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent' }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

test('herald accounts limits sets an account\'s own limits beside a running server, which applies them', async (t) => {
  const server = await startTestHerald({ roles: 'api', accountRequestsPerMinute: 1000 });
  t.after(() => server.close());
  const dir = ['--data-dir', server.dataDir];
  await server.newAccount('globex');
  const set = await herald(['accounts', 'limits', ...dir, '--messages-per-day', '3']);
  assert.equal(set.code, 0, set.stderr);
  // The CLI reads the settings as it is given them (here none: unlimited), like the server does its own.
  assert.match(set.stdout, /requests per minute: +unlimited \(the setting\)/);
  assert.match(set.stdout, /messages per day: +3 \(its own\)/);
  const shown = JSON.parse((await herald(['accounts', 'limits', ...dir, '--account', 'globex', '--requests-per-minute', '0', '--json'])).stdout) as Record<string, unknown>;
  assert.deepEqual(shown.own, { requestsPerMinute: 0, messagesPerDay: null });
  assert.deepEqual(shown.effective, { requestsPerMinute: 0, messagesPerDay: 0 });
  const send = (n: number) => server.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: Array.from({ length: n }, (_, i) => ({ to: [{ email: `r${i}@example.com` }] })) }) });
  assert.equal((await send(3)).status, 202);
  assert.equal((await send(1)).status, 429);
  const after = JSON.parse((await herald(['accounts', 'limits', ...dir, '--json'])).stdout) as { messagesToday: number; own: unknown };
  assert.equal(after.messagesToday, 3);
  const back = JSON.parse((await herald(['accounts', 'limits', ...dir, '--messages-per-day', 'default', '--json'])).stdout) as { own: unknown };
  assert.deepEqual(back.own, { requestsPerMinute: null, messagesPerDay: null });
});

test('herald accounts limits refuses bad values, unknown accounts and stray arguments with exit 2 and no stack', async (t) => {
  const server = await startTestHerald({ roles: 'api' });
  t.after(() => server.close());
  const dir = ['--data-dir', server.dataDir];
  const cases = [
    [['--messages-per-day=-1'], /--messages-per-day takes a whole number/],
    [['--messages-per-day', '1e3'], /whole number/],
    [['--requests-per-minute', '999999999999'], /to 100000000/],
    [['--requests-per-minute', 'lots'], /not "lots"/],
    [['--account', 'nobody'], /no account named "nobody"/],
    [['extra'], /takes no argument "extra"/],
    [['--per-day', '3'], /Unknown option '--per-day'/],
  ] as const;
  const results = await Promise.all(cases.map(([args]) => herald(['accounts', 'limits', ...dir, ...args])));
  cases.forEach(([args, message], i) => {
    const r = results[i]!;
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });
  assert.deepEqual(await server.backend.limits.get((await server.backend.accounts.findAccountByName('default'))!.id), { requestsPerMinute: null, messagesPerDay: null }, 'nothing changed');
});
