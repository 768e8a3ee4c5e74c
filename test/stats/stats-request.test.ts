import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketsOf, parseDate, parseRange } from '../../src/stats/stats-request.js';
import { mailboxProviderOf } from '../../src/stats/mailbox-providers.js';
import { metricsOf } from '../../src/stats/metrics.js';
import { DROP_REASONS } from '../../src/suppressions/auto-suppress.js';

const labels = (start: string, end: string, by: 'day' | 'week' | 'month') =>
  bucketsOf({ fromDay: parseDate('start_date', start), toDay: parseDate('end_date', end), aggregatedBy: by }).map((b) => b.date);

test('ISO weeks run Monday to Sunday across a year end, the 53rd week included', () => {
  // 2015-12-28 (Monday) to 2016-01-03 (Sunday) is week 53 of 2015: one bucket.
  assert.deepEqual(labels('2015-12-27', '2016-01-11', 'week'), ['2015-12-27', '2015-12-28', '2016-01-04', '2016-01-11']);
});

test('months follow the calendar, February of a leap year included', () => {
  assert.deepEqual(labels('2024-01-31', '2024-03-01', 'month'), ['2024-01-31', '2024-02-01', '2024-03-01']);
  assert.deepEqual(labels('2024-02-28', '2024-03-01', 'day'), ['2024-02-28', '2024-02-29', '2024-03-01']);
});

test('end_date defaults to today (UTC) and may equal start_date', () => {
  const today = parseDate('x', '2026-01-10');
  assert.deepEqual(parseRange({ start_date: '2026-01-01' }, today), { fromDay: parseDate('x', '2026-01-01'), toDay: today, aggregatedBy: 'day' });
  assert.equal(bucketsOf(parseRange({ start_date: '2026-01-10', end_date: '2026-01-10' }, today)).length, 1);
});

test('recipient domains map to their mailbox provider, country variants included', () => {
  const cases: [string, string][] = [
    ['a@gmail.com', 'Gmail'],
    ['a@GoogleMail.com', 'Gmail'],
    ['a@hotmail.co.uk', 'Microsoft Outlook Live'],
    ['a@outlook.fr', 'Microsoft Outlook Live'],
    ['a@msn.com', 'Microsoft Outlook Live'],
    ['a@yahoo.com.au', 'Yahoo'],
    ['a@ymail.com', 'Yahoo'],
    ['a@aol.com', 'AOL'],
    ['a@me.com', 'Apple iCloud'],
    ['a@live.example.org', 'Other'],
    ['a@outlook.example', 'Other'],
    ['a@corp.example', 'Other'],
  ];
  for (const [address, provider] of cases) assert.equal(mailboxProviderOf(address), provider, address);
});

test('drops count by the reason Herald wrote, blocked bounces as blocks', () => {
  const base = { id: 'e', accountId: 'a', messageId: 'm', email: 'x@y.example', timestamp: 0 };
  const names = (e: Parameters<typeof metricsOf>[0]) => metricsOf(e).map((m) => m.metric);
  assert.deepEqual(names({ ...base, type: 'dropped', reason: DROP_REASONS.bounces }), ['drops', 'bounce_drops']);
  assert.deepEqual(names({ ...base, type: 'dropped', reason: DROP_REASONS.spam_reports }), ['drops', 'spam_report_drops']);
  assert.deepEqual(names({ ...base, type: 'dropped', reason: DROP_REASONS.invalid_emails }), ['drops', 'invalid_emails']);
  assert.deepEqual(names({ ...base, type: 'dropped', reason: 'purged by an operator' }), ['drops']);
  assert.deepEqual(names({ ...base, type: 'bounce', bounceType: 'blocked', reason: 'r', status: '5.7.1', attempt: 1, mxServer: null }), ['blocks']);
});
