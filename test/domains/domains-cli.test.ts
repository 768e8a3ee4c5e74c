import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestHerald, tempDataDir } from '../support/test-herald.js';
import { startDnsServer } from '../support/dns-server.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function herald(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent' }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

test('herald domains add prints the records, list shows the domain, check turns it valid once they are published', async (t) => {
  const dataDir = tempDataDir();
  const dns = await startDnsServer();
  // A server on the same directory: the CLI opens it shared, and the API sees what the CLI did.
  const server = await startTestHerald({}, { dataDir, keepDataDir: true });
  t.after(async () => {
    await server.close();
    await dns.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const dir = ['--data-dir', dataDir];

  const added = await herald(['domains', 'add', 'cli.example.test', ...dir]);
  assert.equal(added.code, 0, added.stderr);
  const records = [...added.stdout.matchAll(/^(dkim1|dkim2|spf|dmarc)(?: \(suggested\))?  TXT  (\S+)\n  (.+)$/gm)].map((m) => ({ name: m[1]!, host: m[2]!, data: m[3]! }));
  assert.deepEqual(records.map((r) => r.name), ['dkim1', 'dkim2', 'spf', 'dmarc'], added.stdout);
  assert.match(records[0]!.data, /^v=DKIM1; k=rsa; p=/);
  assert.match(records[1]!.data, /^v=DKIM1; k=ed25519; p=/);
  assert.doesNotMatch(added.stdout, /PRIVATE/);

  const again = await herald(['domains', 'add', 'CLI.example.test', ...dir]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /HERALD_ERR_DUPLICATE_DOMAIN/);
  const bad = await herald(['domains', 'add', 'not a domain', ...dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /HERALD_ERR_INVALID_DOMAIN/);

  const listed = await herald(['domains', 'list', ...dir]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /cli\.example\.test  not valid .* never checked/);

  const check = ['domains', 'check', 'cli.example.test', '--dns-check-servers', `127.0.0.1:${dns.port}`, ...dir];
  const before = await herald(check);
  assert.equal(before.code, 1, before.stderr);
  assert.match(before.stdout, /^record +status +host +reason$/m);
  assert.match(before.stdout, /^dkim1 +MISSING +\S+\._domainkey\.cli\.example\.test +Expected a TXT record/m);
  assert.match(before.stdout, /is not valid yet/);

  for (const r of records) dns.set(r.host, 'TXT', [{ data: r.data }]);
  const after = await herald(check);
  assert.equal(after.code, 0, after.stdout + after.stderr);
  for (const name of ['dkim1', 'dkim2', 'spf', 'dmarc']) assert.match(after.stdout, new RegExp(`^${name} +ok +`, 'm'));
  assert.match(after.stdout, /cli\.example\.test is valid/);

  const shown = (await (await server.api('/v3/whitelabel/domains')).json()) as { domain: string; valid: boolean }[];
  assert.deepEqual(shown.map((d) => [d.domain, d.valid]), [['cli.example.test', true]]);
  const relisted = await herald(['domains', 'list', ...dir]);
  assert.match(relisted.stdout, /cli\.example\.test  valid .* checked 20/);

  const unknown = await herald(['domains', 'check', 'nope.example.test', ...dir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /not a sending domain/);
});
