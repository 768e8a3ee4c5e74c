import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { SloMonitor } from '../../src/ops/slo/slo-monitor.js';
import { TEST_DATABASE_URL, dropSchema, freshSchema } from '../conformance/backends.js';

const START = Date.UTC(2026, 0, 10, 12, 0, 30);

test('cluster: processes add their SLO counts to the same minutes, and one of them announces each alert change', async (t) => {
  const schema = freshSchema();
  const config = loadConfig({
    env: {},
    overrides: { backend: 'postgres', databaseUrl: TEST_DATABASE_URL, databaseSchema: schema, databasePoolSize: 4, slos: { api: { objective: 0.999, sli: { kind: 'availability' } } }, sloAlertMinEvents: 10 },
  });
  const backends: Backend[] = [];
  t.after(async () => {
    for (const b of backends) await b.close();
    await dropSchema(schema);
  });
  let now = START;
  const monitors: SloMonitor[] = [];
  for (let i = 0; i < 3; i++) {
    const backend = await openBackend(config);
    backends.push(backend);
    monitors.push(await SloMonitor.open({ config, store: backend.slos, secrets: backend.secrets, log: createLogger('silent'), now: () => now }));
  }
  assert.equal(new Set(monitors.map((m) => m.publicKey)).size, 1, 'every process signs with the one key kept in the store');

  // Each process answers 100 requests in this minute, 10 of them with a 503.
  for (const m of monitors) {
    for (let i = 0; i < 100; i++) m.recorder.response('/v3/mail/send', 'POST', i < 10 ? 503 : 202, 5);
  }
  await Promise.all(monitors.map((m) => m.recorder.flush()));
  const [sums] = await backends[0]!.slos.sums('api', [Math.floor(START / BUCKET_MS) * BUCKET_MS], START + BUCKET_MS);
  assert.deepEqual(sums, { good: 270, total: 300 });

  const fired = (await Promise.all(monitors.map((m) => m.evaluate()))).flat();
  assert.deepEqual(fired.map((f) => `${f.state} ${f.alert.severity}`).sort(), ['firing page', 'firing ticket']);
  assert.deepEqual((await Promise.all(monitors.map((m) => m.evaluate()))).flat(), []);

  now += 31 * BUCKET_MS;
  for (const m of monitors) for (let i = 0; i < 100; i++) m.recorder.response('/v3/messages', 'GET', 200, 1);
  await Promise.all(monitors.map((m) => m.recorder.flush()));
  const resolved = (await Promise.all(monitors.map((m) => m.evaluate()))).flat();
  assert.deepEqual(resolved.map((f) => `${f.state} ${f.alert.severity}`), ['resolved page'], 'the 5- and 30-minute windows are clean; the ticket holds on the 2-hour one');
  for (const m of monitors) await m.stop();
});
