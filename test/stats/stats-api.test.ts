import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestHerald, mailBody, eventually, type TestHerald } from '../support/test-herald.js';
import { GLOBAL_METRICS, PROVIDER_METRICS } from '../../src/stats/metrics.js';
import { newEventId, type EngagementEvent } from '../../src/events/event.js';
import { accepted } from './support.js';

type Entry = { date: string; stats: { metrics: Record<string, number>; name?: string; type?: string }[] };

const today = () => new Date().toISOString().slice(0, 10);
const who = { useragent: 'Mozilla/5.0', ip: '203.0.113.9' };

async function json<T>(res: Response, status = 200): Promise<T> {
  const body = (await res.json()) as T;
  assert.equal(res.status, status, JSON.stringify(body));
  return body;
}

describe('Stats API over real deliveries', () => {
  let herald: TestHerald;
  let defaultAccountId: string;
  before(async () => {
    herald = await startTestHerald();
    defaultAccountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
  });
  after(() => herald.close());

  test('deliveries, opens and clicks count per day, category and mailbox provider', async () => {
    const send = async (to: string[], categories: string[]) => {
      const res = await herald.api('/v3/mail/send', { method: 'POST', json: mailBody({ personalizations: [{ to: to.map((email) => ({ email })) }], categories }) });
      assert.equal(res.status, 202);
      return String(res.headers.get('x-message-id'));
    };
    const welcome = await send(['ann@gmail.com', 'bob@yahoo.co.uk'], ['welcome']);
    await send(['cat@icloud.com'], ['news']);
    // The capture transport delivers each; wait until all three are delivered.
    await eventually(async () => {
      const ms = (await herald.backend.activity.queryMessages(defaultAccountId, null, 10)).filter((m) => m.status === 'delivered');
      return ms.length === 3;
    }, 15_000, 'three deliveries');
    const ann = (await herald.backend.activity.getMessage(defaultAccountId, `${welcome}.0`))!;
    const bob = (await herald.backend.activity.getMessage(defaultAccountId, `${welcome}.1`))!;
    const base = (m: typeof ann) => ({ id: newEventId(), accountId: m.accountId, messageId: m.msgId, email: m.toEmail, timestamp: Date.now() });
    const engagement: EngagementEvent[] = [
      { ...base(ann), type: 'open', machineOpen: false, ...who },
      { ...base(ann), type: 'open', machineOpen: false, ...who },
      { ...base(bob), type: 'click', url: 'https://example.com/', urlOffset: { index: 0, type: 'html' }, ...who },
    ];
    await herald.backend.engagement.record(engagement);
    await herald.stats!.catchUp();

    const global = await json<Entry[]>(await herald.api(`/v3/stats?start_date=${today()}`));
    assert.equal(global.length, 1);
    assert.equal(global[0]!.date, today());
    const metrics = global[0]!.stats[0]!.metrics;
    assert.deepEqual(Object.keys(metrics).sort(), [...GLOBAL_METRICS].sort());
    assert.equal(metrics.requests, 3);
    assert.equal(metrics.processed, 3);
    assert.equal(metrics.delivered, 3);
    assert.equal(metrics.opens, 2);
    assert.equal(metrics.unique_opens, 1);
    assert.equal(metrics.clicks, 1);
    assert.equal(metrics.unique_clicks, 1);

    const categories = await json<Entry[]>(await herald.api(`/v3/categories/stats?start_date=${today()}&categories=welcome&categories=news&categories=none`));
    assert.deepEqual(categories[0]!.stats.map((s) => [s.name, s.type, s.metrics.delivered, s.metrics.opens]), [
      ['welcome', 'category', 2, 2],
      ['news', 'category', 1, 0],
      ['none', 'category', 0, 0],
    ]);

    const sums = await json<{ date: string; stats: Entry['stats'] }>(await herald.api(`/v3/categories/stats/sums?start_date=${today()}&sort_by_metric=requests`));
    assert.equal(sums.date, today());
    assert.deepEqual(sums.stats.map((s) => [s.name, s.metrics.requests]), [['welcome', 2], ['news', 1]]);
    const ascending = await json<{ stats: Entry['stats'] }>(await herald.api(`/v3/categories/stats/sums?start_date=${today()}&sort_by_metric=requests&sort_by_direction=asc&limit=1`));
    assert.deepEqual(ascending.stats.map((s) => s.name), ['news']);

    const providers = await json<Entry[]>(await herald.api(`/v3/mailbox_providers/stats?start_date=${today()}`));
    assert.deepEqual(providers[0]!.stats.map((s) => [s.type, s.name, s.metrics.delivered]), [
      ['mailbox_provider', 'Gmail', 1],
      ['mailbox_provider', 'Yahoo', 1],
      ['mailbox_provider', 'Apple iCloud', 1],
    ]);
    assert.deepEqual(Object.keys(providers[0]!.stats[0]!.metrics).sort(), [...PROVIDER_METRICS].sort());
    const gmail = await json<Entry[]>(await herald.api(`/v3/mailbox_providers/stats?start_date=${today()}&mailbox_providers=gmail`));
    assert.deepEqual(gmail[0]!.stats.map((s) => [s.name, s.metrics.opens, s.metrics.unique_opens]), [['Gmail', 2, 1]]);

    // Another account's key sees its own (empty) stats, never these.
    const other = await herald.newAccount('globex');
    const theirs = await json<Entry[]>(await herald.api(`/v3/stats?start_date=${today()}`, { key: other.apiKey }));
    assert.equal(theirs[0]!.stats[0]!.metrics.requests, 0);
    const theirCategories = await json<Entry[]>(await herald.api(`/v3/categories/stats?start_date=${today()}&categories=welcome`, { key: other.apiKey }));
    assert.equal(theirCategories[0]!.stats[0]!.metrics.requests, 0);
    const theirSums = await json<{ stats: unknown[] }>(await herald.api(`/v3/categories/stats/sums?start_date=${today()}`, { key: other.apiKey }));
    assert.deepEqual(theirSums.stats, []);
    const theirProviders = await json<Entry[]>(await herald.api(`/v3/mailbox_providers/stats?start_date=${today()}`, { key: other.apiKey }));
    assert.deepEqual(theirProviders[0]!.stats, []);
  });
});

describe('Stats API dates and input', () => {
  let herald: TestHerald;
  let accountId: string;
  before(async () => {
    // api only: no delivery worker, so the back-dated messages below keep only what the test writes.
    herald = await startTestHerald({ roles: 'api' });
    accountId = (await herald.backend.accounts.findAccountByName('default'))!.id;
    // Sunday 2025-06-29: 1 message; Monday 06-30: 2; Tuesday 07-01: 4; Monday 07-07: 8 (UTC noon).
    const days: [string, number][] = [['2025-06-29', 1], ['2025-06-30', 2], ['2025-07-01', 4], ['2025-07-07', 8]];
    for (const [date, n] of days) {
      const at = Date.parse(`${date}T12:00:00Z`);
      await herald.backend.queue.enqueue(accepted(accountId, Array.from({ length: n }, (_, i) => `r${i}@gmail.com`), { categories: ['weekly'] }, at));
    }
    await herald.stats!.catchUp();
  });
  after(() => herald.close());

  const requestsOf = async (query: string) =>
    (await json<Entry[]>(await herald.api(`/v3/stats?${query}`))).map((e) => [e.date, e.stats[0]!.metrics.requests]);

  test('aggregated_by day lists every day of the range, zeros included', async () => {
    assert.deepEqual(await requestsOf('start_date=2025-06-28&end_date=2025-07-02'), [
      ['2025-06-28', 0], ['2025-06-29', 1], ['2025-06-30', 2], ['2025-07-01', 4], ['2025-07-02', 0],
    ]);
    assert.deepEqual(await requestsOf('start_date=2025-06-28&end_date=2025-07-02&aggregated_by=day'), await requestsOf('start_date=2025-06-28&end_date=2025-07-02'));
  });

  test('aggregated_by week: ISO weeks from Monday, cut at the range ends and labelled with their first day', async () => {
    assert.deepEqual(await requestsOf('start_date=2025-06-28&end_date=2025-07-08&aggregated_by=week'), [
      ['2025-06-28', 1], ['2025-06-30', 6], ['2025-07-07', 8],
    ]);
  });

  test('aggregated_by month: calendar months, cut at the range ends', async () => {
    assert.deepEqual(await requestsOf('start_date=2025-06-28&end_date=2025-07-31&aggregated_by=month'), [['2025-06-28', 3], ['2025-07-01', 12]]);
    const categories = await json<Entry[]>(await herald.api('/v3/categories/stats?start_date=2025-06-01&end_date=2025-07-31&aggregated_by=month&categories=weekly'));
    assert.deepEqual(categories.map((e) => [e.date, e.stats[0]!.metrics.requests]), [['2025-06-01', 3], ['2025-07-01', 12]]);
  });

  test('bad input gets a precise 400 in SendGrid\'s error shape', async () => {
    const cases: [string, string, string][] = [
      ['/v3/stats', 'start_date', 'HERALD_ERR_MISSING_FIELD'],
      ['/v3/stats?start_date=2025-6-1', 'start_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2025-02-30', 'start_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2025-02-01&end_date=tomorrow', 'end_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2025-07-02&end_date=2025-07-01', 'end_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2020-01-01&end_date=2025-01-01', 'end_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2025-07-01&end_date=2025-07-02&aggregated_by=year', 'aggregated_by', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/stats?start_date=2025-07-01&start_date=2025-07-02&end_date=2025-07-02', 'start_date', 'HERALD_ERR_INVALID_FIELD'],
      [`/v3/stats?start_date=${'9'.repeat(5000)}`, 'start_date', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats?start_date=2025-07-01&end_date=2025-07-31', 'categories', 'HERALD_ERR_MISSING_FIELD'],
      [`/v3/categories/stats?start_date=2025-07-01&end_date=2025-07-31&${Array.from({ length: 11 }, (_, i) => `categories=c${i}`).join('&')}`, 'categories', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats?start_date=2025-07-01&end_date=2025-07-31&categories=a%00b', 'categories', 'HERALD_ERR_INVALID_FIELD'],
      [`/v3/categories/stats?start_date=2025-07-01&end_date=2025-07-31&categories=${'x'.repeat(256)}`, 'categories', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats/sums?start_date=2025-07-01&end_date=2025-07-31&sort_by_metric=drop_table', 'sort_by_metric', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats/sums?start_date=2025-07-01&end_date=2025-07-31&sort_by_direction=up', 'sort_by_direction', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats/sums?start_date=2025-07-01&end_date=2025-07-31&limit=0', 'limit', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/categories/stats/sums?start_date=2025-07-01&end_date=2025-07-31&offset=-1', 'offset', 'HERALD_ERR_INVALID_FIELD'],
      ['/v3/mailbox_providers/stats?start_date=2025-07-01&end_date=2025-07-31&mailbox_providers=Hotmeal', 'mailbox_providers', 'HERALD_ERR_INVALID_FIELD'],
    ];
    for (const [path, field, code] of cases) {
      const res = await herald.api(path);
      const body = (await res.json()) as { errors: { field: string; code: string; message: string }[] };
      assert.equal(res.status, 400, `${path.slice(0, 80)}: ${JSON.stringify(body)}`);
      assert.equal(body.errors[0]!.field, field, path.slice(0, 80));
      assert.equal(body.errors[0]!.code, code, path.slice(0, 80));
      assert.ok(body.errors[0]!.message.length > 0);
    }
  });

  test('keys: 401 without one, 403 without the scope; stats.read or stats.global.read open /v3/stats', async () => {
    assert.equal((await herald.api('/v3/stats?start_date=2025-07-01&end_date=2025-07-31', { key: null })).status, 401);
    const mailOnly = await herald.newKey(['mail.send']);
    for (const path of ['/v3/stats', '/v3/categories/stats', '/v3/categories/stats/sums', '/v3/mailbox_providers/stats']) {
      const res = await herald.api(`${path}?start_date=2025-07-01&end_date=2025-07-31&categories=weekly`, { key: mailOnly });
      assert.equal(res.status, 403, path);
    }
    for (const scope of ['stats.read', 'stats.global.read'] as const) {
      assert.equal((await herald.api('/v3/stats?start_date=2025-07-01&end_date=2025-07-31', { key: await herald.newKey([scope]) })).status, 200, scope);
    }
    const categoriesOnly = await herald.newKey(['categories.stats.read']);
    assert.equal((await herald.api('/v3/categories/stats?start_date=2025-07-01&end_date=2025-07-31&categories=weekly', { key: categoriesOnly })).status, 200);
    assert.equal((await herald.api('/v3/stats?start_date=2025-07-01&end_date=2025-07-31', { key: categoriesOnly })).status, 403);
  });
});
