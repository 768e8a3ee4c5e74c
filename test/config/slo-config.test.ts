import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { DEFAULT_SLOS } from '../../src/ops/slo/slo-definitions.js';
import { HeraldError } from '../../src/errors.js';
import { tempDataDir } from '../support/test-herald.js';

function refusal(overrides: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string {
  try {
    loadConfig({ env, overrides });
  } catch (error) {
    assert.ok(error instanceof HeraldError);
    assert.equal(error.code, 'HERALD_ERR_CONFIG');
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(overrides)}`);
}

test('the default SLOs: API availability 99.95%, accept latency 99.9% under 100 ms, delivery 99% within 60 s, over 30 days', () => {
  const config = loadConfig({ env: {} });
  assert.deepEqual(config.slos, DEFAULT_SLOS);
  assert.deepEqual(Object.entries(config.slos).map(([name, s]) => [name, s.objective, s.windowDays, s.sli]), [
    ['api-availability', 0.9995, 30, { kind: 'availability' }],
    ['accept-latency', 0.999, 30, { kind: 'accept-latency', thresholdMs: 100 }],
    ['time-to-deliver', 0.99, 30, { kind: 'time-to-deliver', thresholdMs: 60_000 }],
  ]);
  assert.deepEqual(config.sloAlertWebhookUrls, []);
  assert.equal(config.sloAlertMinEvents, 100);
});

test('slos from a file, the environment or a flag replace the defaults; missing fields take theirs', () => {
  const dir = tempDataDir();
  try {
    const file = join(dir, 'herald.json');
    writeFileSync(file, JSON.stringify({ slos: { 'send-ok': { objective: 0.995, sli: { kind: 'accept-latency', thresholdMs: 250 } } }, sloAlertWebhookUrls: ['https://alerts.example/hook'] }));
    const config = loadConfig({ env: {}, file });
    assert.deepEqual(config.slos, { 'send-ok': { description: '', objective: 0.995, windowDays: 30, sli: { kind: 'accept-latency', thresholdMs: 250 } } });
    assert.deepEqual(config.sloAlertWebhookUrls, ['https://alerts.example/hook']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const fromEnv = loadConfig({ env: { HERALD_SLOS: '{"a": {"objective": 0.9, "windowDays": 7, "sli": {"kind": "availability"}}}', HERALD_SLO_ALERT_WEBHOOK_URLS: '["http://127.0.0.1:9/x"]' } });
  assert.equal(fromEnv.slos.a!.windowDays, 7);
  assert.deepEqual(fromEnv.sloAlertWebhookUrls, ['http://127.0.0.1:9/x']);
  assert.deepEqual(loadConfig({ env: {}, overrides: { slos: '{}' } }).slos, {});
});

test('a bad slos setting stops start-up with a message naming the SLO and field', () => {
  const slo = (spec: Record<string, unknown>) => ({ slos: { api: { objective: 0.999, sli: { kind: 'availability' }, ...spec } } });
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ slos: [] }, /slos from slos: must be a JSON object of SLOs keyed by name/],
    [{ slos: 'not json' }, /slos from slos must be a JSON object/],
    [{ slos: { API: { objective: 0.9, sli: { kind: 'availability' } } } }, /SLO name "API" must be lowercase/],
    [{ slos: { '-x': { objective: 0.9, sli: { kind: 'availability' } } } }, /SLO name "-x"/],
    [{ slos: { api: 'fast' } }, /api must be an object/],
    [slo({ objective: 1 }), /api\.objective must be a number from 0\.5 to 0\.99999/],
    [slo({ objective: 0.3 }), /api\.objective/],
    [slo({ objective: '0.999' }), /api\.objective/],
    [slo({ objective: null }), /api\.objective/],
    [slo({ windowDays: 0 }), /api\.windowDays must be a whole number from 1 to 30/],
    [slo({ windowDays: 31 }), /api\.windowDays/],
    [slo({ windowDays: 1.5 }), /api\.windowDays/],
    [slo({ target: 0.9 }), /api has unknown field "target"/],
    [slo({ description: 'two\nlines' }), /api\.description must be text/],
    [slo({ description: 'x'.repeat(501) }), /api\.description/],
    [slo({ sli: undefined }), /api\.sli must be an object/],
    [slo({ sli: { kind: 'uptime' } }), /api\.sli\.kind must be one of availability, accept-latency, time-to-deliver, got "uptime"/],
    [slo({ sli: { kind: 'availability', thresholdMs: 5 } }), /kind availability takes no other field/],
    [slo({ sli: { kind: 'accept-latency' } }), /api\.sli\.thresholdMs must be a whole number of ms from 1 to 60000/],
    [slo({ sli: { kind: 'accept-latency', thresholdMs: 0 } }), /api\.sli\.thresholdMs/],
    [slo({ sli: { kind: 'time-to-deliver', thresholdMs: 500 } }), /from 1000 to 86400000/],
    [slo({ sli: { kind: 'time-to-deliver', thresholdMs: 60_000, good: 'x' } }), /takes only thresholdMs/],
    [{ slos: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`s${i}`, { objective: 0.9, sli: { kind: 'availability' } }])) }, /at most 20 SLOs, got 21/],
    [{ sloAlertWebhookUrls: 'https://a.example' }, /sloAlertWebhookUrls from sloAlertWebhookUrls must be a JSON array/],
    [{ sloAlertWebhookUrls: { url: 'https://a.example' } }, /must be a JSON array of at most 10 URLs/],
    [{ sloAlertWebhookUrls: Array.from({ length: 11 }, () => 'https://a.example') }, /at most 10 URLs/],
    [{ sloAlertWebhookUrls: ['ftp://a.example/x'] }, /entry 1 is not one/],
    [{ sloAlertWebhookUrls: ['https://a.example', 'https://a.example/x y'] }, /entry 2 is not one/],
    [{ sloAlertWebhookUrls: ['https://a.example/\r\nX-Injected: 1'] }, /entry 1 is not one/],
    [{ sloAlertWebhookUrls: [42] }, /entry 1 is not one/],
    [{ sloAlertMinEvents: -1 }, /sloAlertMinEvents/],
    [{ sloFlushMs: 50 }, /sloFlushMs from sloFlushMs must be between 100 and 60000/],
    [{ sloEvaluateMs: 999 }, /sloEvaluateMs/],
  ];
  for (const [overrides, expected] of cases) assert.match(refusal(overrides), expected, JSON.stringify(overrides).slice(0, 200));
  assert.match(refusal({}, { HERALD_SLOS: '{"api": ' }), /slos from HERALD_SLOS must be a JSON object/);
  // A URL holding a token is not echoed back.
  assert.ok(!refusal({ sloAlertWebhookUrls: ['https://a.example/hook?token=hunter2', 'gopher://x'] }).includes('hunter2'));
});
