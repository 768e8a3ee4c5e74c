import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually, mailBody, startTestHerald, tempDataDir, type TestHerald } from '../support/test-herald.js';
import { freePort as closedPort } from '../support/free-port.js';

/** The compiled CLI, as the `herald` bin runs it. */
const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const STACK_FRAME = /^\s+at .+:\d+:\d+\)?$/m;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `herald ...args` to completion with only the given HERALD_* variables set. */
function herald(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) base[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...base, HERALD_LOG_LEVEL: 'silent', ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function captureHerald(t: { after(fn: () => Promise<void>): void }): Promise<TestHerald> {
  const h = await startTestHerald();
  t.after(() => h.close());
  return h;
}

test('keys create prints a key once, and that key works against a server on the same data directory', async (t) => {
  const dataDir = tempDataDir();
  const server = await startTestHerald({}, { dataDir, keepDataDir: true });
  t.after(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // The server holds the directory; the CLI opens it shared, as keys-command.ts says it may.
  const run = await herald(['keys', 'create', '--name', 'x', '--scopes', 'mail.send', '--data-dir', dataDir]);
  assert.equal(run.code, 0, run.stderr);
  const keys = run.stdout.match(/^SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/gm) ?? [];
  assert.equal(keys.length, 1, `exactly one key printed:\n${run.stdout}`);
  assert.match(run.stdout, /mail\.send/);
  const key = keys[0]!;

  const sent = await server.api('/v3/mail/send', { method: 'POST', json: mailBody(), key });
  assert.equal(sent.status, 202);
  // The key has only the scope asked for.
  const read = await server.api('/v3/messages', { key });
  assert.equal(read.status, 403);

  // It is never shown again: listing keys names it without its secret.
  const list = await herald(['keys', 'list', '--data-dir', dataDir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /\bx\b/);
  assert.equal(list.stdout.includes(key.split('.')[2]!), false, 'the secret is not listed');
});

test('herald send is accepted, and the message shows in herald inbox and herald messages', async (t) => {
  const server = await captureHerald(t);
  const env = { HERALD_URL: server.url, HERALD_API_KEY: server.apiKey };

  const sent = await herald(['send', '--to', 'a@b.c', '--subject', 'cli subject 7', '--text', 't'], env);
  assert.equal(sent.code, 0, sent.stderr);
  const requestId = /X-Message-Id (\S+)/.exec(sent.stdout)?.[1];
  assert.ok(requestId, `send prints the X-Message-Id:\n${sent.stdout}`);

  const inbox = await eventually(
    async () => {
      const run = await herald(['inbox'], env);
      assert.equal(run.code, 0, run.stderr);
      return run.stdout.includes('cli subject 7') ? run : undefined;
    },
    20_000,
    'the message in herald inbox',
  );
  assert.match(inbox.stdout, /a@b\.c\s+cli subject 7/);

  const messages = await herald(['messages'], env);
  assert.equal(messages.code, 0, messages.stderr);
  assert.match(messages.stdout, new RegExp(`^${requestId}\\.0\\s.*delivered\\s+a@b\\.c\\s+cli subject 7$`, 'm'));

  const show = await herald(['messages', 'show', `${requestId}.0`], env);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /processed/);
  assert.match(show.stdout, /delivered/);
});

test('herald --help exits 0 and prints the usage', async () => {
  const run = await herald(['--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /Usage:/);
  assert.match(run.stdout, /herald send/);
});

test('an unknown command exits 2 and names it', async () => {
  const run = await herald(['frobnicate']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown command "frobnicate"/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});

test('--port abc exits 2 with a message naming port', async () => {
  const run = await herald(['start', '--port', 'abc', '--data-dir', '/nonexistent/never-created']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /\bport\b/);
  assert.match(run.stderr, /whole number/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});

test('an unknown flag exits 2 and names it', async () => {
  const run = await herald(['send', '--too', 'a@b.c']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /--too/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});

test('herald send without --to fails with a clear message and no stack trace', async (t) => {
  const server = await captureHerald(t);
  const run = await herald(['send', '--subject', 's', '--text', 't'], { HERALD_URL: server.url, HERALD_API_KEY: server.apiKey });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--to/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
  assert.equal(run.stdout, '');
});

test('herald send to a server that is not running says it cannot reach Herald', async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;
  const run = await herald(['send', '--to', 'a@b.c', '--subject', 's', '--text', 't'], {
    HERALD_URL: url,
    HERALD_API_KEY: 'SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /cannot reach Herald/);
  assert.ok(run.stderr.includes(url), 'the message names the URL it tried');
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});

test('herald send with a key the server refuses reports the HTTP status, not a crash', async (t) => {
  const server = await captureHerald(t);
  const run = await herald(['send', '--to', 'a@b.c', '--subject', 's', '--text', 't'], {
    HERALD_URL: server.url,
    HERALD_API_KEY: 'SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
  });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /HTTP 401/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});

test('herald send without an API key says how to get one', async (t) => {
  const server = await captureHerald(t);
  const run = await herald(['send', '--to', 'a@b.c', '--subject', 's', '--text', 't'], { HERALD_URL: server.url });
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /HERALD_API_KEY/);
  assert.doesNotMatch(run.stderr, STACK_FRAME);
});
