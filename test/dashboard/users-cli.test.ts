import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestHerald, tempDataDir } from '../support/test-herald.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Runs `herald ...args` with `stdin` piped in (not a terminal: the password is its first line). */
function herald(args: string[], stdin: string, dataDir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent', HERALD_DATA_DIR: dataDir } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

test('users add reads the password from stdin, and that user signs in to a server on the same data', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // The first start makes the default account (and says how to add a user).
  const first = await startTestHerald({}, { dataDir, keepDataDir: true });
  await first.close();

  const added = await herald(['users', 'add', 'Ops@Example.com', '--account', 'default'], 'a long enough password\nignored\n', dataDir);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /ops@example\.com added to account "default"/);
  assert.ok(!added.stdout.includes('a long enough password'));

  const again = await herald(['users', 'add', 'ops@example.com'], 'another long password\n', dataDir);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /HERALD_ERR_DUPLICATE_USER/);
  const short = await herald(['users', 'add', 'short@example.com'], 'short\n', dataDir);
  assert.equal(short.code, 2);
  assert.match(short.stderr, /10 to 1024 characters/);
  const bad = await herald(['users', 'add', 'not-an-address'], 'a long enough password\n', dataDir);
  assert.equal(bad.code, 2);
  const noAccount = await herald(['users', 'add', 'x@example.com', '--account', 'nope'], 'a long enough password\n', dataDir);
  assert.equal(noAccount.code, 2);
  const listed = await herald(['users', 'list'], '', dataDir);
  assert.match(listed.stdout, /ops@example\.com/);
  assert.ok(!listed.stdout.includes('short@'));

  const server = await startTestHerald({}, { dataDir, keepDataDir: true });
  try {
    const res = await fetch(`${server.url}/v1/dashboard/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'ops@example.com', password: 'a long enough password' }) });
    assert.equal(res.status, 200);
  } finally {
    await server.close();
  }
});
