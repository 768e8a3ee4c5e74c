import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backends/backend.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { backendsUnderTest, freshBackendEachTest } from './backends.js';

const T = Date.UTC(2026, 0, 10, 12, 0, 0);
const at = (minutes: number) => T + minutes * BUCKET_MS;

for (const [name, make] of backendsUnderTest()) {
  describe(`SLO store conformance: ${name}`, () => {
    let backend: Backend;
    let reopen: () => Promise<Backend>;
    freshBackendEachTest(make, (fresh) => ({ backend, reopen } = fresh));

    test('counts add up in their bucket, negative totals included, and each window sums the buckets that start in it', async () => {
      await backend.slos.add([
        { slo: 'api', bucket: at(0), good: 10, total: 12 },
        { slo: 'api', bucket: at(1), good: 5, total: 5 },
        { slo: 'api', bucket: at(0), good: 1, total: 1 },
        { slo: 'other', bucket: at(0), good: 100, total: 100 },
      ]);
      await backend.slos.add([{ slo: 'api', bucket: at(2), good: 0, total: 3 }, { slo: 'api', bucket: at(2), good: 0, total: -1 }]);
      const sums = await backend.slos.sums('api', [at(0), at(1), at(2), at(3)], at(3));
      assert.deepEqual(sums, [
        { good: 16, total: 20 },
        { good: 5, total: 7 },
        { good: 0, total: 2 },
        { good: 0, total: 0 },
      ]);
      assert.deepEqual(await backend.slos.sums('api', [at(0)], at(2)), [{ good: 16, total: 18 }], 'until is exclusive');
      assert.deepEqual(await backend.slos.sums('nothing', [at(0)], at(5)), [{ good: 0, total: 0 }]);
      assert.deepEqual(await backend.slos.sums('api', [], at(5)), []);
    });

    test('many writers adding to the same buckets at once lose nothing (upsert add)', async () => {
      const batch = [0, 1, 2].map((m) => ({ slo: 'api', bucket: at(m), good: 2, total: 3 }));
      await Promise.all(Array.from({ length: 25 }, (_, i) => backend.slos.add(i % 2 === 0 ? batch : [...batch].reverse())));
      assert.deepEqual(await backend.slos.sums('api', [at(0)], at(3)), [{ good: 150, total: 225 }]);
    });

    test('prune drops only buckets that start before the cut', async () => {
      await backend.slos.add([0, 1, 2, 3].map((m) => ({ slo: 'api', bucket: at(m), good: 1, total: 1 })));
      assert.equal(await backend.slos.prune(at(2)), 2);
      assert.deepEqual(await backend.slos.sums('api', [at(0)], at(10)), [{ good: 2, total: 2 }]);
      assert.equal(await backend.slos.prune(at(2)), 0);
    });

    test('an alert opens once however many evaluators race, and closes once', async () => {
      const alert = { slo: 'api', severity: 'page' as const, since: at(5), reason: 'burn rate 20.0 over 1h and 20.0 over 5m (threshold 14.4)' };
      const wins = await Promise.all(Array.from({ length: 8 }, () => backend.slos.openAlert(alert)));
      assert.equal(wins.filter(Boolean).length, 1);
      assert.equal(await backend.slos.openAlert({ ...alert, since: at(9) }), false);
      assert.equal(await backend.slos.openAlert({ ...alert, severity: 'ticket' }), true);
      assert.deepEqual(await backend.slos.alerts(), [alert, { ...alert, severity: 'ticket' }]);
      const closes = await Promise.all([backend.slos.closeAlert('api', 'page'), backend.slos.closeAlert('api', 'page')]);
      assert.deepEqual(closes.filter(Boolean), [alert]);
      assert.equal(await backend.slos.closeAlert('api', 'page'), null);
      assert.deepEqual(await backend.slos.alerts(), [{ ...alert, severity: 'ticket' }]);
    });

    test('counts and firing alerts survive a restart', async () => {
      await backend.slos.add([{ slo: 'api', bucket: at(0), good: 7, total: 9 }]);
      await backend.slos.openAlert({ slo: 'api', severity: 'ticket', since: at(1), reason: 'r' });
      backend = await reopen();
      assert.deepEqual(await backend.slos.sums('api', [at(0)], at(1)), [{ good: 7, total: 9 }]);
      assert.deepEqual(await backend.slos.alerts(), [{ slo: 'api', severity: 'ticket', since: at(1), reason: 'r' }]);
      await backend.slos.add([{ slo: 'api', bucket: at(0), good: 1, total: 1 }]);
      assert.deepEqual(await backend.slos.sums('api', [at(0)], at(1)), [{ good: 8, total: 10 }]);
    });
  });
}
