import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openBackend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { tempDataDir } from '../support/test-herald.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

function herald(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HERALD_')) env[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { env: { ...env, HERALD_LOG_LEVEL: 'silent', ...extraEnv }, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/**
 * A data directory as a server leaves it after three days: the API failing 1 request in 2000
 * (burning api-availability's 99.95% budget exactly as fast as it is earned), sends fast, and a
 * page firing on api-availability.
 */
async function seed(dataDir: string): Promise<void> {
  const backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
  const current = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
  const minutes = Array.from({ length: 3 * 24 * 60 }, (_, i) => current - i * BUCKET_MS);
  await backend.slos.add(minutes.map((bucket) => ({ slo: 'api-availability', bucket, good: 1999, total: 2000 })));
  await backend.slos.add(minutes.map((bucket) => ({ slo: 'accept-latency', bucket, good: 10, total: 10 })));
  await backend.slos.openAlert({ slo: 'api-availability', severity: 'page', since: Date.UTC(2026, 0, 1, 9, 30), reason: 'burn rate 15.0 over 1h and 16.0 over 5m (threshold 14.4)' });
  await backend.close();
}

test('herald slo status prints each SLO as a table row, and its alerts, from the data directory', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  await seed(dataDir);
  const out = await herald(['slo', 'status', '--data-dir', dataDir]);
  assert.equal(out.code, 0, out.stderr);
  assert.equal(
    out.stdout,
    [
      'slo               objective  window     good    total  budget left  burn 5m  burn 1h  burn 6h  burn 1d  burn 3d  alerts',
      'api-availability     99.95%     30d  8635680  8640000           0%        1        1        1        1        1  page',
      'accept-latency        99.9%     30d    43200    43200         100%        0        0        0        0        0  -',
      'time-to-deliver         99%     30d        0        0         100%        0        0        0        0        0  -',
      '',
      'PAGE api-availability since 2026-01-01T09:30:00.000Z: burn rate 15.0 over 1h and 16.0 over 5m (threshold 14.4)',
      '',
    ].join('\n'),
  );
  // No subcommand is status.
  assert.equal((await herald(['slo', '--data-dir', dataDir])).stdout, out.stdout);

  const json = await herald(['slo', 'status', '--json', '--data-dir', dataDir]);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { slos: { name: string; totals: { bad: number }; burn_rates: Record<string, number>; alerts: { severity: string }[] }[] };
  assert.deepEqual(parsed.slos.map((s) => s.name), ['api-availability', 'accept-latency', 'time-to-deliver']);
  assert.equal(parsed.slos[0]!.totals.bad, 4320);
  assert.equal(parsed.slos[0]!.burn_rates['1h'], 1);
  assert.deepEqual(parsed.slos[0]!.alerts.map((a) => a.severity), ['page']);
});

test('herald slo status follows the slos setting, and refuses bad arguments and a bad setting', async (t) => {
  const dataDir = tempDataDir();
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  await seed(dataDir);
  const only = await herald(['slo', 'status', '--data-dir', dataDir], { HERALD_SLOS: JSON.stringify({ 'accept-latency': { objective: 0.99, windowDays: 7, sli: { kind: 'accept-latency', thresholdMs: 250 } } }) });
  assert.equal(only.code, 0, only.stderr);
  assert.deepEqual(only.stdout.trim().split('\n').map((l) => l.split(/\s+/).slice(0, 3).join(' ')), ['slo objective window', 'accept-latency 99% 7d']);
  const none = await herald(['slo', 'status', '--data-dir', dataDir], { HERALD_SLOS: '{}' });
  assert.equal(none.stdout, 'no SLOs are configured (setting slos)\n');

  const unknown = await herald(['slo', 'burn', '--data-dir', dataDir]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown subcommand "burn"[\s\S]*herald slo status/);
  const extra = await herald(['slo', 'status', 'api', '--data-dir', dataDir]);
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /takes no argument "api"/);
  const bad = await herald(['slo', 'status', '--data-dir', dataDir], { HERALD_SLOS: '{"api": {"objective": 1, "sli": {"kind": "availability"}}}' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /slos from HERALD_SLOS: api\.objective must be a number from 0\.5 to 0\.99999.*HERALD_ERR_CONFIG/);
});
