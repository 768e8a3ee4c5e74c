import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { openBackend, type Backend } from '../../src/backends/backend.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/ops/logger.js';
import { BUCKET_MS } from '../../src/ops/slo/burn-rate.js';
import { SloEvaluator } from '../../src/ops/slo/slo-evaluator.js';
import { SloMonitor } from '../../src/ops/slo/slo-monitor.js';
import type { SloDefinition } from '../../src/ops/slo/slo-definitions.js';
import { tempDataDir } from '../support/test-herald.js';

const MINUTE = BUCKET_MS;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** 30 s into a minute: request SLIs count the current minute, so windows end at 12:01. */
const START = Date.UTC(2026, 0, 10, 12, 0, 30);
/** Objective 0.999: with 1000 events a minute, n bad ones a minute is a burn rate of n. */
const SLO: SloDefinition = { name: 'api', description: '', objective: 0.999, windowDays: 30, sli: { kind: 'availability' } };

describe('SLO burn-rate alerts', () => {
  let dataDir: string;
  let backend: Backend;
  let now: number;
  let evaluator: SloEvaluator;
  const clock = () => now;

  beforeEach(async () => {
    dataDir = tempDataDir();
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    now = START;
    evaluator = new SloEvaluator([SLO], backend.slos, clock, { minEvents: 100, flushMs: 5000 });
  });
  afterEach(async () => {
    await backend.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /**
   * `bad` of `total` events in each minute from `first` minutes before the current one to `last`
   * minutes before it (0: the current minute, which request SLIs count).
   */
  async function traffic(first: number, last: number, bad: number, total = 1000): Promise<void> {
    const current = Math.floor(now / MINUTE) * MINUTE;
    const counts = [];
    for (let i = first; i >= last; i--) counts.push({ slo: 'api', bucket: current - i * MINUTE, good: total - bad, total });
    await backend.slos.add(counts);
  }
  /** Three days of good traffic up to `last + 1` minutes ago. */
  const THREE_DAYS = 3 * 24 * 60 - 1;

  async function fired(): Promise<string[]> {
    const { transitions } = await evaluator.evaluate();
    return transitions.map((t) => `${t.state} ${t.alert.severity}`);
  }

  test('a fast burn (14.4× over 1 h and 5 min) pages and does not ticket', async () => {
    await traffic(THREE_DAYS, 60, 0);
    await traffic(59, 0, 20); // the last 60 minutes, the current one included
    assert.deepEqual(await fired(), ['firing page']);
    const [alert] = await backend.slos.alerts();
    assert.equal(alert!.slo, 'api');
    assert.match(alert!.reason, /burn rate 20\.0 over 1h and 20\.0 over 5m \(threshold 14\.4\)/);
    assert.deepEqual(await fired(), [], 'a firing alert does not fire again');
    const [status] = await evaluator.statuses();
    assert.equal(status!.windows['1h'].burnRate.toFixed(6), '20.000000');
    assert.equal(status!.windows['5m'].total, 5000);
  });

  test('a short spike that burns only the 5-minute window does not page; the same burn kept up does', async () => {
    await traffic(THREE_DAYS, 5, 0);
    await traffic(4, 0, 100); // burn 100 over 5 min, 8.3 over the hour
    assert.deepEqual(await fired(), []);
    const [status] = await evaluator.statuses();
    assert.ok(status!.windows['5m'].burnRate > 14.4 && status!.windows['1h'].burnRate < 14.4);
    now += 5 * MINUTE;
    await traffic(4, 0, 100); // ten minutes of it: 16.7 over the hour
    assert.deepEqual(await fired(), ['firing page']);
  });

  test('a slower burn (6× over 6 h and 30 min) pages', async () => {
    await traffic(THREE_DAYS, 360, 0);
    await traffic(359, 0, 7);
    assert.deepEqual(await fired(), ['firing page']);
    assert.match((await backend.slos.alerts())[0]!.reason, /over 6h and 7\.0 over 30m \(threshold 6\)/);
  });

  test('3× over 1 d and 2 h opens a ticket, not a page', async () => {
    await traffic(THREE_DAYS, 1440, 0);
    await traffic(1439, 0, 4);
    assert.deepEqual(await fired(), ['firing ticket']);
    assert.match((await backend.slos.alerts())[0]!.reason, /over 1d and 4\.0 over 2h \(threshold 3\)/);
  });

  test('1× over 3 d and 6 h opens a ticket', async () => {
    await traffic(THREE_DAYS, 0, 3, 2000); // 3 of 2000: burn 1.5
    assert.deepEqual(await fired(), ['firing ticket']);
    assert.match((await backend.slos.alerts())[0]!.reason, /over 3d and 1\.5 over 6h \(threshold 1\)/);
  });

  test('a page clears once the short window recovers, with hysteresis near the threshold', async () => {
    await traffic(THREE_DAYS, 60, 0);
    await traffic(59, 0, 15);
    assert.deepEqual(await fired(), ['firing page']);
    // Five minutes at 13.5: below 14.4 but above 90% of it (12.96) in both windows: still firing.
    now += 5 * MINUTE;
    await traffic(4, 0, 27, 2000);
    assert.deepEqual(await fired(), []);
    assert.equal((await backend.slos.alerts()).length, 1);
    // Five more at 12: the 5-minute window falls under 12.96 and the page clears.
    now += 5 * MINUTE;
    await traffic(4, 0, 12);
    assert.deepEqual(await fired(), ['resolved page']);
    assert.deepEqual(await backend.slos.alerts(), []);
    assert.deepEqual(await fired(), []);
  });

  test('too little traffic in the long window never alerts (sloAlertMinEvents)', async () => {
    await traffic(59, 0, 1, 1); // 60 events, every one bad
    assert.deepEqual(await fired(), []);
    const lenient = new SloEvaluator([SLO], backend.slos, clock, { minEvents: 60, flushMs: 5000 });
    assert.deepEqual((await lenient.evaluate()).transitions.map((t) => t.alert.severity), ['page', 'ticket']);
  });

  test('a restart keeps counts and the firing alert: it is not announced again, and clears later', async () => {
    await traffic(THREE_DAYS, 60, 0);
    await traffic(59, 0, 20);
    assert.deepEqual(await fired(), ['firing page']);
    await backend.close();
    backend = await openBackend(loadConfig({ env: {}, overrides: { dataDir } }));
    evaluator = new SloEvaluator([SLO], backend.slos, clock, { minEvents: 100, flushMs: 5000 });
    assert.deepEqual(await fired(), []);
    assert.equal((await evaluator.statuses())[0]!.windows['1h'].total, 60_000);
    now += 6 * MINUTE;
    await traffic(5, 0, 0);
    assert.deepEqual(await fired(), ['resolved page']);
  });

  test('the error budget left is over the SLO window: 1 untouched, 0 spent, below 0 overspent', async () => {
    const slo = { ...SLO, windowDays: 1 };
    const daily = new SloEvaluator([slo], backend.slos, clock, { minEvents: 100, flushMs: 5000 });
    assert.equal((await daily.statuses())[0]!.errorBudgetRemaining, 1, 'no events: nothing spent');
    await traffic(2 * 24 * 60, 2 * 24 * 60 - 9, 500); // before the window: not counted
    await traffic(9, 0, 0);
    await backend.slos.add([{ slo: 'api', bucket: Math.floor(now / MINUTE) * MINUTE - HOUR, good: 0, total: 5 }]);
    const [status] = await daily.statuses();
    assert.equal(status!.period.total, 10_005);
    assert.equal(status!.errorBudgetRemaining.toFixed(4), (1 - 5 / 10_005 / 0.001).toFixed(4));
  });

  test('each alert change is one log line', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({ env: {}, overrides: { slos: { api: { objective: 0.999, sli: { kind: 'availability' } } } } });
    const monitor = await SloMonitor.open({ config, store: backend.slos, secrets: backend.secrets, log: createLogger('info', sink), now: clock });
    await traffic(THREE_DAYS, 60, 0);
    await traffic(59, 0, 20);
    assert.equal((await monitor.evaluate()).length, 1);
    assert.equal((await monitor.evaluate()).length, 0);
    now += 6 * MINUTE;
    await traffic(5, 0, 0);
    assert.equal((await monitor.evaluate()).length, 1);
    await monitor.stop();
    await new Promise((r) => setImmediate(r));
    const alerts = lines.filter((l) => l.component === 'slo');
    assert.deepEqual(alerts.map((l) => [l.msg, l.state, l.severity, l.slo]), [
      ['SLO alert firing: api (page)', 'firing', 'page', 'api'],
      ['SLO alert resolved: api (page)', 'resolved', 'page', 'api'],
    ]);
    assert.equal(alerts[0]!.level, 40);
  });

  test('minutes older than the longest window and a day are pruned', async () => {
    const config = loadConfig({ env: {}, overrides: { slos: { api: { objective: 0.999, windowDays: 7, sli: { kind: 'availability' } } } } });
    const monitor = await SloMonitor.open({ config, store: backend.slos, secrets: backend.secrets, log: createLogger('silent'), now: clock });
    const current = Math.floor(now / MINUTE) * MINUTE;
    await backend.slos.add([9 * DAY, 8 * DAY + MINUTE, 8 * DAY - MINUTE, HOUR].map((ago) => ({ slo: 'api', bucket: current - ago, good: 1, total: 1 })));
    assert.equal(await monitor.prune(), 2);
    assert.equal((await evaluator.statuses())[0]!.period.total, 2);
    await monitor.stop();
  });
});
