import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryDelay } from '../../src/queue/retry-policy.js';

const policy = { baseMs: 60_000, maxMs: 3_600_000 };

test('delays double from the base and stop at the maximum', () => {
  const mid = () => 0.5; // no jitter
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map((a) => retryDelay(policy, a, mid)), [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000]);
});

test('jitter stays within ±20%', () => {
  assert.equal(retryDelay(policy, 1, () => 0), 48_000);
  assert.equal(retryDelay(policy, 1, () => 1), 72_000);
  for (let i = 0; i < 1000; i++) {
    const d = retryDelay(policy, 3);
    assert.ok(d >= 192_000 && d <= 288_000, String(d));
  }
});

test('a huge attempt count neither overflows nor goes past the maximum', () => {
  assert.ok(retryDelay(policy, 10_000, () => 1) <= 3_600_000 * 1.2);
});
