import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forecast, type CapacitySample, type Flows } from '../../src/ops/capacity.js';

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const depth = (destination: string, ready: number, oldestCreatedAt: number | null = T0 - HOUR) => ({ destination, ready, scheduled: 0, leased: 0, oldestCreatedAt });
const flows = (accepted: Record<string, number>, delivered: Record<string, number>): Flows => ({
  accepted: new Map(Object.entries(accepted)),
  delivered: new Map(Object.entries(delivered)),
  failed: new Map(),
  complete: true,
});

test('a linear forecast: a growing destination, a draining one, the queue bound and the disk', () => {
  const first: CapacitySample = { at: T0, depths: [depth('slow.test', 100), depth('fast.test', 50)], dataBytes: 1_000_000, disk: { freeBytes: 10_000_000, totalBytes: 50_000_000 } };
  const second: CapacitySample = { at: T0 + 10_000, depths: [depth('slow.test', 150), depth('fast.test', 30)], dataBytes: 1_100_000, disk: { freeBytes: 9_900_000, totalBytes: 50_000_000 } };
  const r = forecast(first, second, flows({ 'slow.test': 50, 'fast.test': 20 }, { 'fast.test': 40 }), { maxQueuedMessages: 480, messageMaxAgeMs: 72 * HOUR });
  const slow = r.destinations.find((d) => d.destination === 'slow.test')!;
  const fast = r.destinations.find((d) => d.destination === 'fast.test')!;
  assert.deepEqual([slow.queued, slow.acceptedPerS, slow.deliveredPerS, slow.trendPerS, slow.emptyInS], [150, 5, 0, 5, null]);
  assert.equal(slow.oldestAgeS, 3610);
  assert.equal(slow.oldestExpiresInS, 71 * 3600 - 10);
  assert.deepEqual([fast.queued, fast.acceptedPerS, fast.deliveredPerS, fast.trendPerS, fast.emptyInS], [30, 2, 4, -2, 15]);
  assert.equal(r.destinations[0]!.destination, 'slow.test', 'deepest first');
  // The whole queue: 150 → 180 in 10 s, +3/s, 300 messages of room: 100 s.
  assert.deepEqual([r.queue.queued, r.queue.trendPerS, r.queue.fullInS, r.queue.emptyInS], [180, 3, 100, null]);
  // The disk: +10 kB/s with 9.9 MB free.
  assert.deepEqual([r.disk!.trendBytesPerS, r.disk!.fullInS], [10_000, 990]);
});

test('nothing growing forecasts no end; a queue past its bound is at it now; no disk without a data directory', () => {
  const first: CapacitySample = { at: T0, depths: [depth('a.test', 10)], dataBytes: null, disk: null };
  const same: CapacitySample = { at: T0 + 5000, depths: [depth('a.test', 10)], dataBytes: null, disk: null };
  const r = forecast(first, same, flows({}, {}), { maxQueuedMessages: 5, messageMaxAgeMs: HOUR });
  assert.deepEqual([r.queue.trendPerS, r.queue.fullInS, r.queue.emptyInS, r.disk], [0, null, null, null]);
  assert.equal(r.destinations[0]!.oldestExpiresInS, 0, 'already past its age: expiring now');
  const grown: CapacitySample = { ...same, depths: [depth('a.test', 12)] };
  assert.equal(forecast(first, grown, flows({}, {}), { maxQueuedMessages: 5, messageMaxAgeMs: HOUR }).queue.fullInS, 0);
  const empty = forecast({ at: T0, depths: [], dataBytes: null, disk: null }, { at: T0 + 1000, depths: [], dataBytes: null, disk: null }, flows({}, {}), { maxQueuedMessages: 5, messageMaxAgeMs: HOUR });
  assert.deepEqual(empty.destinations, []);
});
