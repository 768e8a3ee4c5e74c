import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { SloRecorder } from '../../src/ops/slo/slo-recorder.js';
import { SloEvaluator } from '../../src/ops/slo/slo-evaluator.js';
import type { SloDefinition } from '../../src/ops/slo/slo-definitions.js';
import type { FinalEvent } from '../../src/events/event.js';
import { tempDataDir } from '../support/test-herald.js';

const START = Date.UTC(2026, 0, 10, 12, 0, 10);
const SLOS: SloDefinition[] = [
  { name: 'availability', description: '', objective: 0.999, windowDays: 30, sli: { kind: 'availability' } },
  { name: 'latency', description: '', objective: 0.99, windowDays: 30, sli: { kind: 'accept-latency', thresholdMs: 100 } },
  { name: 'deliver', description: '', objective: 0.99, windowDays: 30, sli: { kind: 'time-to-deliver', thresholdMs: 60_000 } },
];

describe('SLO recorder', () => {
  let dataDir: string;
  let backend: Backend;
  let now: number;
  let recorder: SloRecorder;
  let evaluator: SloEvaluator;

  beforeEach(async () => {
    dataDir = tempDataDir();
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    now = START;
    recorder = new SloRecorder(SLOS, backend.slos, () => now, createLogger('silent'));
    evaluator = new SloEvaluator(SLOS, backend.slos, () => now, { minEvents: 1, flushMs: 5000 });
  });
  afterEach(async () => {
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const period = async (name: string) => (await evaluator.statuses()).find((s) => s.slo.name === name)!.period;

  test('availability: 5xx is bad, 4xx and 429 are good, probes and unknown routes do not count', async () => {
    recorder.response('/v3/mail/send', 'POST', 202, 5);
    recorder.response('/v3/mail/send', 'POST', 429, 1);
    recorder.response('/v3/messages/:id', 'GET', 404, 1);
    recorder.response('/v3/messages', 'GET', 500, 1);
    recorder.response('/v3/mail/send', 'POST', 503, 1);
    for (const route of ['/healthz', '/readyz', '/metrics', 'unmatched']) recorder.response(route, 'GET', 503, 1);
    assert.deepEqual(await period('availability'), { good: 0, total: 0, burnRate: 0 }, 'nothing is written before a flush');
    await recorder.flush();
    const p = await period('availability');
    assert.deepEqual([p.good, p.total], [3, 5]);
  });

  test('accept latency: only accepted sends (202) count, good when answered under the threshold', async () => {
    recorder.response('/v3/mail/send', 'POST', 200, 1); // sandbox: nothing written
    recorder.response('/v3/mail/send', 'POST', 202, 99.9);
    recorder.response('/v3/mail/send', 'POST', 202, 100);
    recorder.response('/v3/mail/send', 'POST', 202, 250);
    recorder.response('/v3/mail/send', 'POST', 400, 1);
    recorder.response('/v3/mail/send', 'POST', 503, 5000);
    recorder.response('/v3/messages', 'GET', 200, 1);
    await recorder.flush();
    const p = await period('latency');
    assert.deepEqual([p.good, p.total], [1, 3]);
  });

  test('time to deliver: each message counts once at its deadline; late, stuck and lost ones are bad there, bounces before it are not deliverable', async () => {
    const readyAt = START;
    const scheduled = START + 3 * BUCKET_MS; // send_at three minutes on
    recorder.accepted(Array.from({ length: 6 }, () => ({ readyAt })));
    recorder.accepted([{ readyAt: scheduled }]);
    const outcome = (type: FinalEvent['type'], at: number, times = { readyAt }) =>
      recorder.finished({ type, timestamp: at, messageId: 'm', email: 'a@b.example' } as FinalEvent, times);
    outcome('delivered', readyAt + 2_000);
    outcome('delivered', readyAt + 59_000);
    outcome('bounce', readyAt + 5_000); // refused for good: not deliverable
    outcome('dropped', readyAt + 1_000); // suppressed: not deliverable
    outcome('delivered', readyAt + 90_000); // late: stays bad
    // The sixth is still queued. Outcomes of messages another process claimed are unknown here.
    recorder.finished({ type: 'delivered', timestamp: readyAt + 1000, messageId: 'x', email: 'a@b.example' } as FinalEvent, undefined);
    outcome('delivered', scheduled + 30_000, { readyAt: scheduled });
    await recorder.flush();

    // Before the deadlines' minute is past and flushed, nothing is counted yet.
    now = readyAt + 60_000;
    assert.deepEqual(await period('deliver'), { good: 0, total: 0, burnRate: 0 });
    // The deadline minute (12:01) is final at 12:02 plus two flush intervals.
    now = Date.UTC(2026, 0, 10, 12, 2, 10);
    let p = await period('deliver');
    assert.deepEqual([p.good, p.total], [2, 4], 'two in time, one late, one still queued');
    now = Date.UTC(2026, 0, 10, 12, 5, 10);
    p = await period('deliver');
    assert.deepEqual([p.good, p.total], [3, 5], 'and the scheduled one, in time after its send_at');
  });

  test('counts that fail to be written are kept for the next flush', async () => {
    // The recorder writes through whichever backend is open: closed, the write fails for real.
    const store = new Proxy({} as Backend['slos'], { get: (_t, verb: keyof Backend['slos']) => (...args: never[]) => (backend.slos[verb] as (...a: never[]) => unknown)(...args) });
    recorder = new SloRecorder(SLOS, store, () => now, createLogger('silent'));
    recorder.response('/v3/mail/send', 'POST', 202, 5);
    await backend.close();
    await recorder.flush();
    assert.equal(recorder.pendingBuckets, 2);
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    evaluator = new SloEvaluator(SLOS, backend.slos, () => now, { minEvents: 1, flushMs: 5000 });
    await recorder.flush();
    assert.equal(recorder.pendingBuckets, 0);
    assert.equal((await period('availability')).total, 1);
  });
});
