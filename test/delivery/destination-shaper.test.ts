import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DestinationShaper, type ShaperConfig } from '../../src/delivery/destination-shaper.js';

// The shaper's clock is the test's: rates and pauses are checked by moving it, never by waiting.

function shaper(overrides: Partial<ShaperConfig> = {}): { shaper: DestinationShaper; advance(ms: number): void } {
  let now = 1_000_000;
  const config: ShaperConfig = {
    deliveryConcurrency: 64,
    destinationMaxConnections: 10,
    destinationMaxMessagesPerConnection: 100,
    destinationMessagesPerSecond: 0,
    destinationBreakerFailures: 3,
    destinationBreakerPauseMs: 60_000,
    destinationOverrides: {},
    ...overrides,
  };
  return { shaper: new DestinationShaper(config, () => now), advance: (ms) => (now += ms) };
}

test('a destination may have four messages in progress per allowed connection', () => {
  const { shaper: s } = shaper({ destinationOverrides: { 'slow.test': { maxConnections: 2 } } });
  assert.equal(s.room('slow.test').room, 8);
  s.started('slow.test', 8);
  assert.deepEqual(s.room('slow.test'), { room: 0, retryAt: null });
  s.finished('slow.test', 'answered');
  assert.equal(s.room('slow.test').room, 1);
  assert.equal(s.room('other.test').room, 40);
});

test('no destination may take more than three quarters of the worker', () => {
  const { shaper: s } = shaper({ deliveryConcurrency: 16, destinationMaxConnections: 100 });
  assert.equal(s.shapeOf('big.test').maxInFlight, 12);
});

test('messages per second: a burst of one second, then one token per 1/rate s', () => {
  const { shaper: s, advance } = shaper({ destinationMessagesPerSecond: 5 });
  assert.equal(s.room('rated.test').room, 5);
  s.started('rated.test', 5);
  const empty = s.room('rated.test');
  assert.equal(empty.room, 0);
  assert.equal(empty.retryAt, 1_000_000 + 200);
  advance(200);
  assert.equal(s.room('rated.test').room, 1);
  advance(10_000);
  assert.equal(s.room('rated.test').room, 5, 'the bucket holds one second of burst, no more');
});

test('a per-domain override replaces only the limits it names', () => {
  const { shaper: s } = shaper({ destinationMessagesPerSecond: 7, destinationOverrides: { 'gmail.com': { maxConnections: 20 } } });
  assert.deepEqual(s.shapeOf('gmail.com'), { maxConnections: 20, maxMessagesPerConnection: 100, messagesPerSecond: 7, maxInFlight: 48 });
  assert.equal(s.shapeOf('example.com').maxConnections, 10);
});

test('the breaker opens after the configured session failures in a row, then lets one probe through', () => {
  const { shaper: s, advance } = shaper();
  s.started('down.test', 4);
  assert.equal(s.finished('down.test', 'session-failure'), null);
  assert.equal(s.finished('down.test', 'session-failure'), null);
  const opened = s.finished('down.test', 'session-failure');
  assert.deepEqual(opened, { destination: 'down.test', until: 1_000_000 + 60_000, failures: 3 });
  assert.deepEqual(s.room('down.test'), { room: 0, retryAt: 1_000_000 + 60_000 });
  assert.deepEqual(s.paused().map((p) => p.destination), ['down.test']);
  // The fourth, already under way, fails too: the pause does not grow from it.
  assert.equal(s.finished('down.test', 'session-failure'), null);
  advance(60_000);
  assert.equal(s.room('down.test').room, 1, 'half-open: one probe');
  s.started('down.test', 1);
  assert.equal(s.room('down.test').room, 0, 'no second message while the probe is out');
  // The probe fails: paused again, twice as long.
  assert.equal(s.finished('down.test', 'session-failure')?.until, 1_000_000 + 60_000 + 120_000);
  advance(120_000);
  s.started('down.test', 1);
  s.finished('down.test', 'answered');
  assert.equal(s.room('down.test').room, 40, 'a probe the server answered closes the breaker');
  assert.deepEqual(s.paused(), []);
});

test('an answer between failures resets the count; attempts that never reached the network do not count', () => {
  const { shaper: s } = shaper();
  s.started('flaky.test', 6);
  s.finished('flaky.test', 'session-failure');
  s.finished('flaky.test', 'session-failure');
  s.finished('flaky.test', 'answered');
  s.finished('flaky.test', 'session-failure');
  s.finished('flaky.test', 'not-attempted');
  assert.equal(s.finished('flaky.test', 'session-failure'), null);
  assert.deepEqual(s.paused(), []);
});

test('a breaker threshold of 0 never pauses', () => {
  const { shaper: s } = shaper({ destinationBreakerFailures: 0 });
  s.started('down.test', 20);
  for (let i = 0; i < 20; i++) assert.equal(s.finished('down.test', 'session-failure'), null);
  assert.equal(s.room('down.test').room, 40);
});
